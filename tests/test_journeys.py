"""Journeys as stored: timelines, roles, conversions' users and firsts, and touchpoints.

docs/metrics.md#roles and docs/metrics.md#touchpoints, written below as plain
Python from the documentation's words (never from the SQL), compared with
what the loader stores for random datasets, loaded at once or in two
appending loads (docs/data.md#appending-and-replacing), where a later load
may add a user's earlier sessions.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import insights_core

BASE = datetime(2025, 7, 1)
TS = pa.timestamp("us", tz="UTC")
OFFSETS = st.sampled_from([0, 0, 5, 60, 1440, 3000, 10080, 20000])
USERS = ["u1", "u2", "U2", "ü3"]
SESSION_IDS = [f"s{i}" for i in range(30)]  # s10 sorts before s2: ties broken by the string
CHANNEL_UTM = [(None, None), ("google", "cpc"), ("newsletter", "email"), ("x", None)]
VALUES = [None, "0", "12.5", "1000000.123456"]


@st.composite
def datasets(draw: st.DrawFn) -> tuple[list[dict], list[dict]]:
    ids = draw(st.lists(st.sampled_from(SESSION_IDS), min_size=1, max_size=12, unique=True))
    sessions = []
    for session_id in ids:
        source, medium = draw(st.sampled_from(CHANNEL_UTM))
        sessions.append({
            "session_id": session_id, "user_id": draw(st.sampled_from(USERS)),
            "started_at": BASE + timedelta(minutes=draw(OFFSETS)),
            "utm_source": source, "utm_medium": medium,
        })
    conversions = []
    for index in range(draw(st.integers(0, 8))):
        session = draw(st.sampled_from(sessions))
        conversions.append({
            "conversion_id": f"c{draw(st.integers(0, 3))}{index}",  # c10 < c2: ties broken by the id
            "session_id": session["session_id"],
            "converted_at": session["started_at"] + timedelta(seconds=draw(st.sampled_from([0, 0, 30, 90_000]))),
            "value": draw(st.sampled_from(VALUES)),
        })
    return sessions, conversions


def _table(rows: list[dict], types: dict[str, pa.DataType]) -> pa.Table:
    return pa.table({
        name: pa.array(
            [row[name].replace(tzinfo=timezone.utc) if data_type == TS and row[name] else row[name] for row in rows],
            type=data_type,
        )
        for name, data_type in types.items()
    })


SESSION_TYPES = {"session_id": pa.string(), "user_id": pa.string(), "started_at": TS,
                 "utm_source": pa.string(), "utm_medium": pa.string()}
CONVERSION_TYPES = {"conversion_id": pa.string(), "session_id": pa.string(), "converted_at": TS,
                    "value": pa.string()}


# --- the model, from docs/metrics.md#roles and #touchpoints -------------------------------------

def expected(sessions: list[dict], conversions: list[dict]) -> dict:
    by_user = defaultdict(list)
    for session in sessions:
        by_user[session["user_id"]].append(session)
    session_of = {s["session_id"]: s for s in sessions}
    converted_in = defaultdict(list)
    for conversion in conversions:
        converted_in[conversion["session_id"]].append(conversion)
    roles, positions, last_started = {}, {}, {}
    for user, journey in by_user.items():
        journey.sort(key=lambda s: (s["started_at"], s["session_id"]))
        converting = [i for i, s in enumerate(journey) if converted_in[s["session_id"]]]
        first_converting = converting[0] if converting else None
        for i, session in enumerate(journey):
            positions[session["session_id"]] = i + 1
            roles[session["session_id"]] = (
                i == 0,
                bool(converted_in[session["session_id"]]),
                first_converting is not None and 0 < i < first_converting,
                first_converting is not None and i > first_converting,
            )
        last_started[user] = max(s["started_at"] for s in journey)
    firsts = {}
    for conversion in conversions:
        user = session_of[conversion["session_id"]]["user_id"]
        key = (conversion["converted_at"], conversion["conversion_id"])
        if user not in firsts or key < firsts[user]:
            firsts[user] = key
    touchpoints = set()
    for conversion in conversions:
        converting = session_of[conversion["session_id"]]
        user = converting["user_id"]
        is_first = firsts[user][1] == conversion["conversion_id"]
        value = Decimal(conversion["value"]) if conversion["value"] else None
        for session in by_user[user]:
            if positions[session["session_id"]] <= positions[converting["session_id"]]:
                source = session["utm_source"] or "(direct)"
                medium = session["utm_medium"] or "(none)"
                touchpoints.add((
                    conversion["conversion_id"], user, session["session_id"], positions[session["session_id"]],
                    positions[converting["session_id"]], session["started_at"], f"{medium}/{source}",
                    int((conversion["converted_at"] - session["started_at"]) / timedelta(microseconds=1)),
                    is_first, value,
                ))
    return {
        "roles": roles, "positions": positions, "last_started": last_started, "touchpoints": touchpoints,
        "firsts": {user: key[1] for user, key in firsts.items()},
    }


def stored(con) -> dict:
    rows = con.execute(
        "SELECT session_id, timeline_position, is_first, is_converting, is_assist, is_after FROM sessions"
    ).fetchall()
    touchpoints = set(con.execute(
        "SELECT t.conversion_id, u.user_id, t.session_id, t.timeline_position, t.conversion_position,"
        " t.started_at, t.channel, t.us_before_conversion, t.is_user_first, t.value"
        " FROM touchpoints t JOIN users u USING (user_key)"
    ).fetchall())
    return {
        "roles": {row[0]: tuple(row[2:]) for row in rows},
        "positions": {row[0]: row[1] for row in rows},
        "last_started": dict(con.execute("SELECT user_id, last_session_started_at FROM users").fetchall()),
        "touchpoints": touchpoints,
        "firsts": dict(con.execute(
            "SELECT user_id, conversion_id FROM conversions WHERE is_user_first").fetchall()),
    }


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One store file, replaced for every example."""
    con = insights_core.connect(tmp_path_factory.mktemp("journeys") / "j.duckdb")
    yield con
    con.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dataset=datasets(), data=st.data())
def test_stored_journeys_match_the_documented_rules(store, dataset, data):
    """One load, or two where the second appends sessions (maybe earlier ones) and conversions."""
    sessions, conversions = dataset
    split = data.draw(st.one_of(st.none(), st.integers(1, len(sessions))), label="split")
    if split is None:
        insights_core.load(store, _table(sessions, SESSION_TYPES), _table(conversions, CONVERSION_TYPES), replace=True)
    else:
        first_ids = {s["session_id"] for s in sessions[:split]}
        early = [c for c in conversions if c["session_id"] in first_ids and c["conversion_id"] < "c2"]
        late = [c for c in conversions if c not in early]
        insights_core.load(store, _table(sessions[:split], SESSION_TYPES), _table(early, CONVERSION_TYPES),
                           replace=True)
        insights_core.load(store, _table(sessions[split:], SESSION_TYPES), _table(late, CONVERSION_TYPES))
    assert stored(store) == expected(sessions, conversions)


def test_touchpoints_of_a_three_session_journey(tmp_path):
    """Worked example: conversions in sessions 2 and 3 of u1; each touches the sessions up to its own."""
    con = insights_core.connect(tmp_path / "t.duckdb")
    sessions = tmp_path / "s.csv"
    sessions.write_text(
        "session_id,user_id,started_at,utm_source,utm_medium\n"
        "a,u1,2025-07-01T10:00:00Z,google,cpc\n"
        "b,u1,2025-07-02T10:00:00Z,,\n"
        "c,u1,2025-07-03T10:00:00Z,news,email\n"
    )
    conversions = tmp_path / "c.csv"
    conversions.write_text(
        "conversion_id,session_id,converted_at,value\n"
        "k1,b,2025-07-02T10:00:30Z,10\n"
        "k2,c,2025-07-03T11:00:00Z,\n"
    )
    insights_core.load(con, str(sessions), str(conversions))
    rows = con.execute(
        "SELECT conversion_id, session_id, timeline_position, conversion_position, channel,"
        " us_before_conversion, is_user_first, value FROM touchpoints ORDER BY 1, 3"
    ).fetchall()
    day = 86_400_000_000
    assert rows == [
        ("k1", "a", 1, 2, "cpc/google", day + 30_000_000, True, Decimal("10")),
        ("k1", "b", 2, 2, "(none)/(direct)", 30_000_000, True, Decimal("10")),
        ("k2", "a", 1, 3, "cpc/google", 2 * day + 3_600_000_000, False, None),
        ("k2", "b", 2, 3, "(none)/(direct)", day + 3_600_000_000, False, None),
        ("k2", "c", 3, 3, "email/news", 3_600_000_000, False, None),
    ]


def test_an_append_rebuilds_only_the_users_it_touches(tmp_path):
    """Users not in an append keep their rows exactly, including their number."""
    con = insights_core.connect(tmp_path / "a.duckdb")
    first = tmp_path / "first.csv"
    first.write_text("session_id,user_id,started_at\na,u1,2025-07-01T10:00:00Z\nb,u2,2025-07-01T11:00:00Z\n")
    insights_core.load(con, str(first))
    before = con.execute("SELECT * FROM sessions WHERE user_id = 'u2'").fetchall()
    keys = dict(con.execute("SELECT user_id, user_key FROM users").fetchall())
    more = tmp_path / "more.csv"
    more.write_text("session_id,user_id,started_at\nc,u1,2025-06-30T10:00:00Z\nd,u3,2025-07-02T10:00:00Z\n")
    report = insights_core.load(con, str(more))
    assert report.users_recomputed == 2
    assert con.execute("SELECT * FROM sessions WHERE user_id = 'u2'").fetchall() == before
    after = dict(con.execute("SELECT user_id, user_key FROM users").fetchall())
    assert after["u1"] == keys["u1"] and after["u2"] == keys["u2"] and after["u3"] > max(keys.values())
    assert con.execute("SELECT session_id, timeline_position FROM sessions WHERE user_id = 'u1' ORDER BY 2").fetchall() == [
        ("c", 1), ("a", 2)
    ]
