"""What the dashboard hands out besides tables: file names, and the same question as an API and CLI call.

Pure functions, no Streamlit. Tables and their CSV come from the core's
:mod:`insights_core.tables` (one writer: a download and ``insights query
--format csv`` give the same bytes).
"""

from __future__ import annotations

import json
import os
import re
import shlex
from typing import Mapping


DEFAULT_API_URL = "http://127.0.0.1:8000"
"""Where ``insights serve`` is assumed to listen unless ``INSIGHTS_API_URL`` says otherwise."""

def request_json(body: Mapping[str, str]) -> str:
    """A request body as compact JSON, keys in the documented order."""
    return json.dumps(dict(body), ensure_ascii=False)


ENDPOINTS = {"query": "insights", "timeseries": "timeseries", "breakdown": "breakdown"}
"""Each ``insights`` command that answers a question, and the API endpoint (``/api/v1/…``) that gives the
same document (docs/api.md#http-api)."""


def curl_command(body: Mapping[str, str], api_url: str | None = None, command: str = "query") -> str:
    """The HTTP request (docs/api.md#http-api) that returns the same document as ``insights COMMAND``, as a
    curl command."""
    base = (api_url or os.environ.get("INSIGHTS_API_URL") or DEFAULT_API_URL).rstrip("/")
    return "\n".join(
        [
            f"curl -sS -X POST {shlex.quote(f'{base}/api/v1/{ENDPOINTS[command]}')} \\",
            '  -H "Authorization: Bearer $INSIGHTS_API_KEY" \\',
            "  -H 'Content-Type: application/json' \\",
            f"  -d {shlex.quote(request_json(body))}",
        ]
    )


def cli_command(body: Mapping[str, str], db_path: str, command: str = "query") -> str:
    """The ``insights COMMAND`` (``query``, ``timeseries``, ``breakdown``) that prints the same document."""
    return f"insights {command} --db {shlex.quote(db_path)} --params {shlex.quote(request_json(body))}"


FILE_VALUE_LIMIT = 40
"""Characters of one filter value in a file name."""

_UNSAFE_IN_FILE_NAME = re.compile(r"[^A-Za-z0-9.]+")


def file_stem(body: Mapping[str, str], filters: Mapping[str, str] | None = None) -> str:
    """A download's file name without extension: ``insights_<start>_<end>`` and one ``_<key>-<value>``
    per filter, so a filtered export is never named like an unfiltered one.

    ``body`` is the explicit request (ISO 8601 instants): whole days give
    their date, other moments ``YYYY-MM-DDTHHMM``. Values keep letters,
    digits and dots; anything else (``/``, spaces, quotes, markup) becomes
    ``-`` and a value is cut at :data:`FILE_VALUE_LIMIT` characters.
    """
    parts = ["insights", _moment_in_name(body["start_date"], start=True), _moment_in_name(body["end_date"], start=False)]
    for key, value in (filters or {}).items():
        cleaned = _UNSAFE_IN_FILE_NAME.sub("-", str(value)).strip("-.")[:FILE_VALUE_LIMIT].strip("-.") or "x"
        parts.append(f"{key}-{cleaned}")
    return "_".join(parts)


def _moment_in_name(instant: str, *, start: bool) -> str:
    """``2025-07-01T00:00:00Z`` (a whole day's edge) -> ``2025-07-01``; another moment -> ``2025-07-01T1041``."""
    day, _, clock = instant.partition("T")
    edge = "00:00:00" if start else "23:59:59.999999"
    if not clock or clock.rstrip("Z") == edge:
        return day
    return f"{day}T{clock[:2]}{clock[3:5]}"
