"""Shared test settings: bounded hypothesis runs so the suite stays fast on 2 cores, and the groups that
let ``make test`` run the suite on two workers (pytest-xdist)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("default", max_examples=60, deadline=None, print_blob=True)
settings.load_profile("default")

TESTS = Path(__file__).resolve().parent
WORKER_GROUPS = ("browser", "spark")
"""Folders whose tests all run on one worker (``--dist loadgroup``): one browser and one streamlit server, one
Spark cluster, started once per run as their session fixtures are."""


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.resolve().relative_to(TESTS).parts[0] if item.path.resolve().is_relative_to(TESTS) else ""
        if folder in WORKER_GROUPS:
            item.add_marker(pytest.mark.xdist_group(folder))
