"""Shared test settings: bounded hypothesis runs so the suite stays fast on 2 cores."""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("default", max_examples=60, deadline=None, print_blob=True)
settings.load_profile("default")
