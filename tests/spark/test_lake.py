"""The lake's versions: readers see one complete version, a failed write leaves the previous one (docs/scale.md#the-lake).

These tests need neither Spark nor Java: versions are written here with
DuckDB (``copy_store``) or by hand through a ``Draft``, and read back
through the pointer, as the Spark engine reads them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import insights_core
from insights_core import lake as lakes
from insights_core.lake import KEPT_VERSIONS, Lake, LakeError, copy_store, lake_tables, locate
from spark_support import example_dataset
from test_compute_vs_reference import _load


@pytest.fixture()
def store(tmp_path):
    con = insights_core.connect(tmp_path / "store.duckdb")
    sessions, conversions = example_dataset()
    _load(con, sessions, conversions, None)
    yield con
    con.close()


def _versions(lake: Lake) -> list[str]:
    return sorted(os.listdir(Path(lake.location.path) / lakes.VERSIONS))


def test_a_new_lake_has_no_version_and_says_how_to_fill_it(tmp_path):
    lake = Lake(tmp_path / "lake")
    assert lake.current() is None
    with pytest.raises(LakeError, match="no data in the lake .* yet: load some with .insights load --engine spark."):
        lake.tables()


def test_copy_store_publishes_a_version_with_every_table(store, tmp_path):
    """Every store table but the schema stamp and API keys, with its row count; sessions partitioned by month."""
    lake = Lake(tmp_path / "lake")
    version = copy_store(store, lake)
    assert version.number == 1 and lake.current() == version
    tables = lake.tables()
    assert set(tables.tables) == set(lake_tables()) and "sessions" in tables.tables and "api_keys" not in tables.tables
    assert tables.tables["sessions"].rows == len(example_dataset()[0])
    months = os.listdir(Path(lake.location.path) / lakes.VERSIONS / version.name / "sessions")
    assert months == ["started_month=2025-07"]
    pointer = json.loads((Path(lake.location.path) / lakes.POINTER).read_text())
    assert pointer == {"insights_lake": lakes.LAKE_FORMAT, "current": version.name}


def test_a_failed_write_leaves_readers_on_the_previous_version(store, tmp_path):
    lake = Lake(tmp_path / "lake")
    first = copy_store(store, lake)
    with pytest.raises(RuntimeError, match="broken rule"):
        with lake.writing() as draft:
            Path(draft.table_path("sessions")).mkdir(parents=True)
            (Path(draft.table_path("sessions")) / "part-0.parquet").write_bytes(b"half a file")
            raise RuntimeError("broken rule")
    assert lake.current() == first
    assert _versions(lake) == [first.name]  # the draft is gone


def test_a_killed_write_is_removed_by_the_next_one(store, tmp_path):
    """A writer killed outright leaves its draft; readers never see it, the next writer removes it."""
    lake = Lake(tmp_path / "lake")
    first = copy_store(store, lake)
    script = (
        "import os, sys, time; from insights_core.lake import Lake\n"
        f"lake = Lake({str(lake.location.path)!r})\n"
        "with lake.writing() as draft:\n"
        "    os.makedirs(draft.table_path('sessions'))\n"
        "    print(draft.name, flush=True)\n"
        "    time.sleep(60)\n"
    )
    writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    draft_name = writer.stdout.readline().strip()
    writer.kill()
    writer.wait()
    assert lake.current() == first
    assert draft_name in _versions(lake)
    second = copy_store(store, lake)
    assert lake.current() == second and draft_name not in _versions(lake)


def test_old_versions_are_removed_keeping_the_newest(store, tmp_path):
    lake = Lake(tmp_path / "lake")
    names = [copy_store(store, lake).name for _ in range(KEPT_VERSIONS + 2)]
    assert _versions(lake) == names[-KEPT_VERSIONS:]


def test_a_second_writer_waits_for_the_first(store, tmp_path):
    """Local lakes: one writer at a time; the second says it waits, then writes the next version."""
    lake = Lake(tmp_path / "lake")
    copy_store(store, lake)
    entered, release, waited = threading.Event(), threading.Event(), threading.Event()

    def first_writer() -> None:
        with lake.writing() as draft:
            entered.set()
            release.wait(10)
            draft.publish({})

    thread = threading.Thread(target=first_writer)
    thread.start()
    entered.wait(10)
    threading.Timer(0.5, release.set).start()
    began = time.monotonic()
    with Lake(lake.location.path).writing(waiting=waited.set) as second:
        assert time.monotonic() - began >= 0.3
        assert second.number == 3
    thread.join()
    assert waited.is_set() and lake.current().number == 3


def test_a_lake_of_another_schema_is_refused(store, tmp_path):
    lake = Lake(tmp_path / "lake")
    version = copy_store(store, lake)
    manifest = Path(lake.location.path) / lakes.VERSIONS / version.name / lakes.MANIFEST
    manifest.write_text(manifest.read_text().replace('"schema_version": "', '"schema_version": "0'))
    with pytest.raises(LakeError, match="load your files into a new lake"):
        Lake(lake.location.path).tables()


def test_a_pointer_of_something_else_is_refused(tmp_path):
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / lakes.POINTER).write_text("not json")
    with pytest.raises(LakeError, match="not an Insights lake pointer"):
        Lake(tmp_path / "lake").current()


@pytest.mark.parametrize(("given", "uri"), [
    ("/data/lake", "file:///data/lake"),
    ("file:///data/lake", "file:///data/lake"),
    ("relative/lake", None),
])
def test_locations(given, uri):
    """Plain paths and file:// URIs are local lakes; Spark gets file:// URIs."""
    location = locate(given)
    assert location.local
    assert location.uri == (uri or "file://" + os.path.abspath(given))


def test_the_dashboard_catalog_reads_a_local_lake_as_the_store(store, tmp_path):
    """The dashboard on Spark (docs/scale.md#running-on-spark): filter menus, span and summary read from the
    lake's Parquet files with DuckDB are the store's own."""
    from insights_core import catalog
    from insights_core.lake import lake_duckdb

    lake = Lake(tmp_path / "lake")
    copy_store(store, lake)
    con = lake_duckdb(lake)
    try:
        for read in (catalog.session_span, catalog.available_filters, catalog.all_filter_values, catalog.store_summary):
            assert read(con) == read(store), read.__name__
        params = insights_core.parse_params({"start_date": "2025-07-01", "end_date": "2025-07-31", "medium": "cpc"})
        assert catalog.matching_values(con, params) == catalog.matching_values(store, params)
    finally:
        con.close()
