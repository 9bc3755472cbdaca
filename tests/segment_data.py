"""Random datasets for the trend and breakdown tests (docs/metrics.md#trend, docs/metrics.md#breakdown).

Sessions start around the turn of 2024/2025, so windows and periods cross a
day, an ISO week (Monday 2024-12-30 is in both years), a month and a year
boundary, with starts exactly on midnight and one microsecond either side of
it. Conversions come up to ~35 days after their session, so a first
conversion often falls in another period than its session, or outside the
window. Each dataset is loaded through the real loader into a real DuckDB
file (sometimes in two appending loads), and the reference model reads the
same rows with their effective attributes (docs/data.md#source-and-medium:
no referrer, so source and medium come from the UTM tags).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Mapping, Sequence

import pyarrow as pa
from hypothesis import strategies as st

import insights_core
from insights_core.engines.base import Dialect

DOCS = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"

BASE = datetime(2024, 12, 28)  # a Saturday; Monday 2024-12-30 starts the ISO week that holds New Year
USERS = ["u1", "U1", "ü2", "u3", "u 4", "u5"]
SESSION_IDS = [f"s{i}" for i in range(40)]  # string order differs from numeric order (s10 < s2)
UTM_SOURCES = [None, "google", "Google", "newsletter", "ß-söurce", "Zeta", "=cmd"]
UTM_MEDIUMS = [None, "cpc", "CPC", "email"]
CAMPAIGNS = [None, None, "spring", "Spring", "été", "Z-sale", "a-sale"]
CONTENTS = [None, "banner_a", "banner_b"]
TERMS = [None, "analytics", "Analytics"]
LANDING_PAGES = [None, "https://acme.test/", "https://acme.test/pricing", "https://acme.test/Pricing"]
PAGES = [None, "https://acme.test/demo", "https://acme.test/signup"]
META_TYPES = [None, "hubspot_form", "custom"]
META_IDS = [None, "f1", "F1"]
TOUCH_SCOPES = [None, "", "any", "first", "converting", "assist", "after"]

MINUTE = 60
DAY = 1440
# Start offsets from BASE in minutes: midnights of 12-29, 12-30 (Monday), 12-31, 01-01 (New Year),
# 01-06 (Monday), 02-01 and the minutes around them; few values, so ties are common.
OFFSETS = [0, 5, DAY - 1, DAY, 2 * DAY, 2 * DAY + 1, 3 * DAY + 700, 4 * DAY - 1, 4 * DAY, 4 * DAY + 1,
           9 * DAY, 15 * DAY + 3, 35 * DAY - 1, 35 * DAY, 35 * DAY + 30, 62 * DAY]
JITTER_US = [0, 0, 0, 1, -1]  # a microsecond after, or before, the offset
CONVERSION_DELAYS = [0, 0.5, 45, 3600, 86_400, 700_000, 3_000_000]  # seconds; 3,000,000 s is ~35 days


@st.composite
def datasets(draw: st.DrawFn) -> tuple[list[dict], list[dict]]:
    """Sessions (as loaded: UTM columns, no referrer) and conversions."""
    session_ids = draw(st.lists(st.sampled_from(SESSION_IDS), min_size=1, max_size=14, unique=True))
    sessions = []
    for session_id in session_ids:
        started_at = BASE + timedelta(minutes=draw(st.sampled_from(OFFSETS)),
                                      microseconds=draw(st.sampled_from(JITTER_US)))
        exit_seconds = draw(st.one_of(st.none(), st.sampled_from([0, 30, 3600])))
        sessions.append({
            "session_id": session_id,
            "user_id": draw(st.sampled_from(USERS)),
            "started_at": started_at,
            "exited_at": None if exit_seconds is None else started_at + timedelta(seconds=exit_seconds),
            "landing_page": draw(st.sampled_from(LANDING_PAGES)),
            "utm_source": draw(st.sampled_from(UTM_SOURCES)),
            "utm_medium": draw(st.sampled_from(UTM_MEDIUMS)),
            "utm_campaign": draw(st.sampled_from(CAMPAIGNS)),
            "utm_content": draw(st.sampled_from(CONTENTS)),
            "utm_term": draw(st.sampled_from(TERMS)),
        })
    conversions = []
    for index in range(draw(st.integers(0, 8))):
        session = draw(st.sampled_from(sessions))
        conversions.append({
            "conversion_id": f"c{index}",
            "session_id": session["session_id"],
            "converted_at": session["started_at"] + timedelta(seconds=draw(st.sampled_from(CONVERSION_DELAYS))),
            "conversion_page": draw(st.sampled_from(PAGES)),
            "meta_type": draw(st.sampled_from(META_TYPES)),
            "meta_id": draw(st.sampled_from(META_IDS)),
        })
    return sessions, conversions


def _instant(draw: st.DrawFn, sessions: list[dict]) -> tuple[datetime, str]:
    """A window end as an instant and as text: a date, a session's exact start, a midnight ± 1 µs, or any
    minute, written naive, with ``Z`` or in another zone."""
    kind = draw(st.sampled_from(["date", "date", "session", "midnight", "free"]))
    if kind == "date":
        day = BASE + timedelta(days=draw(st.integers(-3, 66)))
        return day, day.date().isoformat()
    if kind == "session":
        moment = draw(st.sampled_from([s["started_at"] for s in sessions]))
    elif kind == "midnight":
        moment = BASE + timedelta(days=draw(st.integers(-1, 40)), microseconds=draw(st.sampled_from([0, -1, 1])))
    else:
        moment = BASE + timedelta(minutes=draw(st.integers(-3 * DAY, 66 * DAY)))
    form = draw(st.sampled_from(["naive", "Z", "offset"]))
    if form == "offset":  # the same instant written in another zone (docs/metrics.md#window)
        zone = timezone(timedelta(hours=draw(st.sampled_from([-5, 2]))))
        return moment, moment.replace(tzinfo=timezone.utc).astimezone(zone).isoformat()
    return moment, moment.isoformat() + ("Z" if form == "Z" else "")


FILTER_COUNTS = [0, 0, 0, 1, 1, 2]
"""How many filters a parameter set has: often none, so that most cohorts hold someone."""


@st.composite
def cohort_parameters(draw: st.DrawFn, sessions: list[dict], conversions: list[dict]) -> dict:
    """The shared parameters (docs/metrics.md#parameters): explicit window ends, mostly in order (a date end
    means its whole day), and a few filters, often with values present in the data."""
    (first, first_text), (second, second_text) = _instant(draw, sessions), _instant(draw, sessions)
    if first > second and draw(st.integers(0, 9)) > 0:
        first_text, second_text = second_text, first_text
    params: dict = {"start_date": first_text, "end_date": second_text}
    choices = {
        "source": [s["utm_source"] for s in sessions] + ["(direct)", "nope"],
        "medium": [s["utm_medium"] for s in sessions] + ["(none)"],
        "campaign": [s["utm_campaign"] for s in sessions],
        "content": [s["utm_content"] for s in sessions],
        "term": [s["utm_term"] for s in sessions],
        "landing_page": [s["landing_page"] for s in sessions],
        "channel": [f"{s['utm_medium'] or '(none)'}/{s['utm_source'] or '(direct)'}" for s in sessions],
        "conversion_page": [c["conversion_page"] for c in conversions] + ["https://acme.test/demo"],
        "meta_type": [c["meta_type"] for c in conversions] + ["custom"],
        "meta_id": [c["meta_id"] for c in conversions],
    }
    names = draw(st.lists(st.sampled_from(sorted(choices)), unique=True, min_size=draw(st.sampled_from(FILTER_COUNTS)),
                          max_size=2))
    for name in names:
        params[name] = draw(st.sampled_from([None, "", *choices[name]]))
    scope = draw(st.sampled_from(TOUCH_SCOPES))
    if scope is not None:
        params["touch_scope"] = scope
    return params


def effective(sessions: list[dict], channel_groups: dict[str, str]) -> list[dict]:
    """The reference's view of the sessions: effective source and medium (no referrer: the UTM tags, else
    ``(direct)`` / ``(none)``), and each session's stored channel group."""
    view = []
    for s in sessions:
        row = {
            "session_id": s["session_id"], "user_id": s["user_id"],
            "started_at": s["started_at"], "exited_at": s["exited_at"],
            "landing_page": s["landing_page"],
            "source": s["utm_source"] or "(direct)", "medium": s["utm_medium"] or "(none)",
            "campaign": s["utm_campaign"], "content": s["utm_content"], "term": s["utm_term"],
        }
        row["channel_group"] = channel_groups[s["session_id"]]
        view.append(row)
    return view


TS = pa.timestamp("us", tz="UTC")
SESSION_TYPES = {
    "session_id": pa.string(), "user_id": pa.string(), "started_at": TS, "exited_at": TS,
    "landing_page": pa.string(), "utm_source": pa.string(), "utm_medium": pa.string(),
    "utm_campaign": pa.string(), "utm_content": pa.string(), "utm_term": pa.string(),
}
CONVERSION_TYPES = {
    "conversion_id": pa.string(), "session_id": pa.string(), "converted_at": TS,
    "conversion_page": pa.string(), "meta_type": pa.string(), "meta_id": pa.string(),
}


def arrow(rows: list[dict], columns: dict[str, pa.DataType]) -> pa.Table:
    """Rows as an Arrow table with UTC timestamps, as a user's Parquet file would hold them."""
    data = {}
    for name, data_type in columns.items():
        values = [row[name] for row in rows]
        if data_type == TS:
            values = [None if v is None else v.replace(tzinfo=timezone.utc) for v in values]
        data[name] = pa.array(values, type=data_type)
    return pa.table(data)


def load(con, sessions: list[dict], conversions: list[dict], split: int | None) -> None:
    """Replace the store's data with the dataset; with ``split``, as two loads where the second appends."""
    if split is None:
        insights_core.load(con, arrow(sessions, SESSION_TYPES), arrow(conversions, CONVERSION_TYPES), replace=True)
        return
    first_ids = {s["session_id"] for s in sessions[:split]}
    early = [c for c in conversions if c["session_id"] in first_ids and int(c["conversion_id"][1:]) % 2 == 0]
    late = [c for c in conversions if c not in early]
    insights_core.load(con, arrow(sessions[:split], SESSION_TYPES), arrow(early, CONVERSION_TYPES), replace=True)
    insights_core.load(con, arrow(sessions[split:], SESSION_TYPES), arrow(late, CONVERSION_TYPES))


def stored_channel_groups(con) -> dict[str, str]:
    """Each stored session's channel group, as the loader derived it (docs/data.md#channel-groups).

    The reference model takes a session's group as given; the groups themselves are tested where they are
    derived (tests/test_channel_groups.py)."""
    cur = insights_core.cursor(con)
    try:
        return dict(cur.execute("SELECT session_id, channel_group FROM sessions").fetchall())
    finally:
        cur.close()


def window_is_valid(parse, params: dict) -> bool:
    """Whether ``parse`` accepts ``params``; the only refusal these parameters can meet is a reversed window."""
    try:
        parse(params)
    except insights_core.ParameterError as error:
        assert error.field == "start_date", (error.field, error.message)
        return False
    return True


# --- small stores from CSV text, and what they hold ----------------------------------------------------

def store_with(tmp_path: Path, sessions: str, conversions: str | None = None):
    """A store loaded from CSV text, through the real loader."""
    (tmp_path / "sessions.csv").write_text(sessions)
    conversions_file = None
    if conversions is not None:
        conversions_file = tmp_path / "conversions.csv"
        conversions_file.write_text(conversions)
    con = insights_core.connect(tmp_path / "store.duckdb")
    insights_core.load(con, tmp_path / "sessions.csv", conversions_file)
    return con


def stored_sessions(con) -> list[dict]:
    """The store's sessions as the reference model takes them (effective attributes as stored)."""
    cur = insights_core.cursor(con)
    try:
        names = ("session_id", "user_id", "started_at", "exited_at", "landing_page", "source", "medium",
                 "campaign", "content", "term")
        return [dict(zip(names, row)) for row in cur.execute(
            "SELECT session_id, user_id, started_at, exited_at, landing_page, source, medium,"
            " utm_campaign, utm_content, utm_term FROM sessions").fetchall()]
    finally:
        cur.close()


def stored_conversions(con) -> list[dict]:
    cur = insights_core.cursor(con)
    try:
        names = ("conversion_id", "session_id", "converted_at", "conversion_page", "meta_type", "meta_id")
        return [dict(zip(names, row)) for row in cur.execute(
            "SELECT conversion_id, session_id, converted_at, conversion_page, meta_type, meta_id"
            " FROM conversions").fetchall()]
    finally:
        cur.close()


# --- docs/metrics.md's own text ---------------------------------------------------------------------

def docs_section(heading: str) -> str:
    text = DOCS.read_text()
    match = re.search(rf"^## {re.escape(heading)}\s*$(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, heading
    return match.group(1)


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)


# --- the engine seam ----------------------------------------------------------------------------------

class MarkingDialect(Dialect):
    """Spells every dialect piece as a marker, to see what the shared SQL writes itself."""

    name = "marking"

    def parameter(self, name: str) -> str:
        return f"<param {name}>"

    def exact_median(self, expression: str) -> str:
        return f"<median {expression}>"

    def ordered_list(self, element: str, order_by: Sequence[str]) -> str:
        return f"<list {element}>"

    def struct(self, fields: Mapping[str, str]) -> str:
        return f"<struct {', '.join(fields)}>"

    def common_table(self, name: str, body: str, *, materialized: bool = False) -> str:
        return f"{name} AS <{'materialized' if materialized else 'table'}>({body})"


HOSTILE = "x'); DROP TABLE sessions; --"
