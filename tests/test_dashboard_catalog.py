"""insights_core.catalog: the stored facts the dashboard lists (filter values, values under the other
filters, span, summary), robust to what an older release stored, and the dashboard's uploads (all or
nothing, errors name the uploaded file: docs/data.md#loading-rules)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest

from insights_core import LoadError, catalog, cursor, load, parse_params
from insights_core.storefile import StoreFile

SESSIONS = """session_id,user_id,started_at,exited_at,landing_page,referrer,utm_campaign
s1,u1,2025-07-01T10:00:00Z,2025-07-01T10:05:00Z,https://acme.com/?utm_source=news&utm_medium=email,,spring
s2,u1,2025-07-03T08:00:00Z,,https://acme.com/pricing,https://www.google.com/,spring
s3,u2,2025-07-02T09:00:00Z,2025-07-02T09:01:00Z,https://acme.com/,https://www.google.com/,
s4,u3,2025-07-05T12:00:00Z,2025-07-05T12:30:00Z,https://acme.com/,,brand
"""
CONVERSIONS = """conversion_id,session_id,converted_at,conversion_page,meta_type,meta_id
c1,s2,2025-07-03T08:03:00Z,https://acme.com/demo,hubspot_form,f1
c2,s4,2025-07-05T12:10:00Z,https://acme.com/demo,custom,trial
"""


@pytest.fixture
def store_file(tmp_path):
    (tmp_path / "sessions.csv").write_text(SESSIONS)
    (tmp_path / "conversions.csv").write_text(CONVERSIONS)
    store = StoreFile(tmp_path / "store.duckdb")
    with store.edit() as con:
        load(con, tmp_path / "sessions.csv", tmp_path / "conversions.csv")
    return store


def test_filter_values_are_the_exact_stored_values_most_frequent_first(store_file):
    with store_file.snapshot() as con:
        assert catalog.filter_values(con, "source").values == ("google.com", "(direct)", "news")
        assert catalog.filter_values(con, "medium").values == ("organic", "(none)", "email")
        assert catalog.filter_values(con, "campaign").values == ("spring", "brand")
        assert catalog.filter_values(con, "meta_type").values == ("custom", "hubspot_form")
        assert catalog.filter_values(con, "conversion_page").values == ("https://acme.com/demo",)
        assert catalog.filter_values(con, "term") == catalog.FilterValues((), 0)
        everything = catalog.all_filter_values(con)
        has_groups = "channel_group" in catalog.available_filters(con)
    # Every filter the store has a column for, sessions' first (channel groups from schema 3 on).
    assert list(everything) == ["source", "medium", "campaign", "content", "term", "landing_page", "channel",
                                *(["channel_group"] if has_groups else []), "conversion_page", "meta_type", "meta_id"]


def test_filter_values_are_cut_at_the_limit_and_say_how_many_there_are(store_file):
    with store_file.snapshot() as con:
        pages = catalog.filter_values(con, "landing_page", limit=2)
    assert pages.values == ("https://acme.com/", "https://acme.com/?utm_source=news&utm_medium=email")
    assert pages.distinct == 3 and not pages.complete


def test_only_filter_parameters_are_accepted(store_file):
    with store_file.snapshot() as con, pytest.raises(ValueError):
        catalog.filter_values(con, "user_id; DROP TABLE sessions")


def test_span_and_summary(store_file):
    with store_file.snapshot() as con:
        assert catalog.session_span(con) == catalog.SessionSpan(datetime(2025, 7, 1, 10), datetime(2025, 7, 5, 12), 0)
        summary = catalog.store_summary(con)
    assert (summary.sessions, summary.conversions, summary.users, summary.converted_users) == (4, 2, 3, 2)
    assert summary.channels[0] == ("organic/google.com", 2)
    assert summary.last_load.sessions_rows == 4 and summary.last_load.sessions_files.endswith("sessions.csv")


def test_empty_store_has_no_span(tmp_path):
    store = StoreFile(tmp_path / "empty.duckdb")
    with store.edit():
        pass
    with store.snapshot() as con:
        assert catalog.session_span(con) is None
        assert catalog.store_summary(con).last_load is None


def test_values_under_the_other_filters_match_a_plain_reading_of_the_rows(store_file):
    # Sessions of the fixture: (id, source, medium, campaign, started day); s2 and s4 hold conversions.
    july = {"start_date": "2025-07-01", "end_date": "2025-07-31"}
    with store_file.snapshot() as con:
        everything = catalog.matching_values(con, parse_params(july))
        organic = catalog.matching_values(con, parse_params({**july, "medium": "organic"}))
        hubspot = catalog.matching_values(con, parse_params({**july, "meta_type": "hubspot_form"}))
        first_days = catalog.matching_values(con, parse_params({"start_date": "2025-07-01", "end_date": "2025-07-02"}))
    assert everything["source"] == {"google.com": 2, "(direct)": 1, "news": 1}
    assert everything["meta_type"] == {"custom": 1, "hubspot_form": 1}
    # Under medium=organic only google.com is left, but medium's own list ignores medium.
    assert organic["source"] == {"google.com": 2}
    assert organic["medium"] == everything["medium"] == {"organic": 2, "(none)": 1, "email": 1}
    assert organic["campaign"] == {"spring": 1}
    assert organic["meta_type"] == {"hubspot_form": 1}  # c1 is on s2 (organic); c2 on s4 (direct)
    # A conversion filter narrows the session lists to visits holding such a conversion.
    assert hubspot["source"] == {"google.com": 1}
    assert hubspot["meta_type"] == {"custom": 1, "hubspot_form": 1}
    assert hubspot["meta_id"] == {"f1": 1}
    # The window counts: 1-2 July holds s1 (news/email) and s3 (google.com/organic), no conversions.
    assert first_days["source"] == {"news": 1, "google.com": 1}
    assert first_days["meta_type"] == {}

    assert everything["channel"] == {"organic/google.com": 2, "(none)/(direct)": 1, "email/news": 1}

    stored = {"source": catalog.FilterValues(("google.com", "(direct)", "news", "bing.com"), 4)}
    choices = catalog.filter_choices(stored, {"source": {"news": 1, "google.com": 1}})
    assert choices["source"].values == ("news", "google.com", "(direct)", "bing.com")
    assert choices["source"].complete and choices["source"].unit == "session"


def test_a_store_from_an_older_release_with_impossible_timestamps_still_describes_itself(store_file):
    # An older release stored starts outside 1900-9999; DuckDB hands them to Python as text.
    with store_file.edit() as con:
        cur = cursor(con)
        cur.execute("UPDATE sessions SET started_at = TIMESTAMP '10000-01-01' WHERE session_id = 's4'")
        cur.execute("UPDATE sessions SET started_at = TIMESTAMP '1899-12-31 23:00:00' WHERE session_id = 's3'")
        cur.execute("UPDATE loads SET loaded_at = TIMESTAMP '10000-01-02'")
    with store_file.snapshot() as con:
        span = catalog.session_span(con)
        summary = catalog.store_summary(con)
    assert span == catalog.SessionSpan(datetime(2025, 7, 1, 10), datetime(2025, 7, 3, 8), outside=2)
    assert (summary.first_session_at, summary.last_session_at, summary.outside_sessions) == (
        datetime(2025, 7, 1, 10), datetime(2025, 7, 3, 8), 2)
    assert summary.last_load.loaded_at is None


def test_a_store_whose_every_start_is_impossible_has_no_span(store_file):
    with store_file.edit() as con:
        cursor(con).execute("UPDATE sessions SET started_at = TIMESTAMP '-0001-01-01'")
    with store_file.snapshot() as con:
        assert catalog.session_span(con) is None
        assert catalog.store_summary(con).outside_sessions == 4


@dataclass
class FakeUpload:
    """What Streamlit's UploadedFile offers the loader."""

    name: str
    content: bytes

    def getvalue(self) -> bytes:
        return self.content


def test_a_bad_upload_names_the_file_and_stores_nothing(store_file):
    from dashboard.data import load_uploads

    before = store_file.path.read_bytes()
    bad = FakeUpload("visits-july.csv", SESSIONS.replace("s4,u3", "s1,u3").encode())
    with pytest.raises(LoadError) as failure:
        load_uploads(store_file, bad, None, replace=False, progress=lambda stage, fraction: None)
    message = str(failure.value)
    assert 'visits-july.csv: rule "duplicate id"' in message
    assert "insights-upload-" not in message
    assert failure.value.violations[0].file == "visits-july.csv"
    assert store_file.path.read_bytes() == before


def test_a_good_upload_is_stored_with_progress(store_file):
    from dashboard.data import load_uploads

    stages = []
    more = FakeUpload("more.csv", b"session_id,user_id,started_at\ns9,u9,2025-07-06T10:00:00Z\n")
    report = load_uploads(store_file, more, None, replace=False, progress=lambda stage, fraction: stages.append(fraction))
    assert report.sessions_rows == 1
    assert stages[-1] == 1.0
    with store_file.snapshot() as con:
        assert catalog.store_summary(con).sessions == 5
