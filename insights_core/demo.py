"""Realistic synthetic input data for Insights, as the raw files a user would load.

`generate_demo` writes the two tables of docs/data.md#sessions, docs/data.md#conversions exactly as a tracking
script would export them for the made-up site https://www.acme-analytics.com:
landing-page URLs with click ids and UTM query strings, referrer URLs, UTM
columns filled for only some sessions, and conversions inside their sessions.
Nothing derived (source, medium, channel, roles) is written: the loader has to
compute it per docs/data.md#source-and-medium, which is what the demo exercises. Channels behave
differently on purpose (paid search closes fast, organic search and referrals
assist, email follows the first conversion) so that every metric and every
touch_scope of docs/metrics.md#roles, docs/metrics.md#response has something to show. Every step is vectorised
numpy / pyarrow over all rows at once, so a million users take seconds, and
the same (users, seed, end) always gives identical tables.

Traffic is steady up to `end`: journeys start before the window and run on
past its end, and what is written is only what falls inside it, as an export
of a live site would be. Visits follow a weekly and a daily rhythm and a
gentle growth trend, so only today's unfinished day is lower. Conversions carry
a value (an order total, or the value a marketer gives a lead), and the
traffic covers every channel group of docs/data.md#channel-groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SITE = "https://www.acme-analytics.com"
WINDOW = timedelta(days=90)

SESSION_COLUMNS = (
    "session_id", "user_id", "started_at", "exited_at", "landing_page", "referrer",
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
)
CONVERSION_COLUMNS = (
    "conversion_id", "session_id", "converted_at", "conversion_page", "meta_type", "meta_id", "value",
)
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
TIMESTAMP = pa.timestamp("us", tz="UTC")
VALUE = pa.decimal128(12, 2)

_MICROS_PER_SECOND = 1_000_000
_MICROS_PER_HOUR = 3_600 * _MICROS_PER_SECOND
_MICROS_PER_DAY = 86_400 * _MICROS_PER_SECOND
_WINDOW_MICROS = WINDOW // timedelta(microseconds=1)
# Journeys begin up to this long before the window, so its first days already hold
# returning visitors, just as its last days hold journeys that are still going on.
_RUN_IN_MICROS = 30 * _MICROS_PER_DAY  # 99 % of sessions come within 30 days of a visitor's first
_NULL = pa.scalar(None, pa.string())

# How busy the site is: Monday..Sunday (a B2B site is quiet at weekends), each hour of the
# day in UTC (Europe's working day, then America's), and growth over the 90 days.
_WEEKDAY_RHYTHM = np.array([1.10, 1.14, 1.12, 1.08, 0.96, 0.62, 0.60])
_HOURLY_RHYTHM = np.array([
    0.55, 0.45, 0.38, 0.35, 0.38, 0.50, 0.70, 0.95, 1.15, 1.25, 1.30, 1.30,
    1.30, 1.45, 1.55, 1.55, 1.50, 1.40, 1.25, 1.10, 0.95, 0.85, 0.75, 0.65,
])
_GROWTH_OVER_WINDOW = 0.12

# Session roles of docs/metrics.md#roles as the generator plans them; _BROWSE = a non-converter's later session.
_FIRST, _ASSIST, _CONVERTING, _AFTER, _BROWSE = range(5)

# P(1..8 sessions): many one-session users, a long tail; about 3 on average.
_SESSIONS_PER_USER = (0.35, 0.18, 0.13, 0.10, 0.08, 0.07, 0.05, 0.04)

# Traffic kinds are the generator's own ground truth, never written out. Arrays below are
# indexed by kind, in the order of `_raw_traffic`'s builders:
#   paid search, organic search, referral, social, paid social, email, AI assistant, direct,
#   display, affiliate, other paid (review-site listings, podcast ads), other tagged (print, QR codes)
_ACQUISITION = np.array([0.18, 0.23, 0.07, 0.09, 0.07, 0.03, 0.04, 0.20, 0.04, 0.03, 0.015, 0.005])
_CONVERSION_PROBABILITY = np.array([0.45, 0.22, 0.25, 0.12, 0.20, 0.25, 0.35, 0.20, 0.10, 0.35, 0.25, 0.15])
_CONVERTS_IN_FIRST_SESSION = np.array([0.75, 0.20, 0.25, 0.20, 0.35, 0.30, 0.40, 0.30, 0.15, 0.50, 0.40, 0.25])
_MEAN_GAP_DAYS = np.array([0.4, 4.0, 4.0, 5.0, 2.0, 3.0, 3.0, 3.0, 5.0, 1.5, 3.0, 4.0])
_ROLE_CHANNELS = {
    _ASSIST: (0.08, 0.30, 0.15, 0.12, 0.05, 0.03, 0.05, 0.17, 0.04, 0.02, 0.01, 0.005),
    _CONVERTING: (0.24, 0.15, 0.05, 0.03, 0.08, 0.06, 0.04, 0.33, 0.01, 0.04, 0.01, 0.005),
    _AFTER: (0.03, 0.08, 0.03, 0.03, 0.03, 0.55, 0.02, 0.23, 0.02, 0.01, 0.005, 0.005),
    _BROWSE: (0.10, 0.27, 0.10, 0.12, 0.05, 0.02, 0.03, 0.28, 0.04, 0.01, 0.01, 0.005),
}

_SHORT_GAP_SHARE = 0.3          # coming back within the hour or so
_MISSING_EXIT_SHARE = 0.10      # tab closed without an exit event
_REPEAT_CONVERSION_SHARE = 0.30  # converters who convert again in a later session
_SECOND_IN_SESSION_SHARE = 0.10  # converting sessions with a second conversion

_BLOG = tuple(
    f"/blog/{slug}" for slug in (
        "multi-touch-attribution-guide", "utm-parameters-best-practices",
        "first-vs-last-touch", "marketing-mix-modeling-101", "cookieless-tracking",
        "b2b-funnel-metrics",
    )
)
_TERMS = (
    "analytics software", "attribution tool", "marketing attribution",
    "multi touch attribution", "utm tracking", "acme analytics",
)
_GCLID_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_HEX_ALPHABET = b"0123456789abcdef"

# (meta_type, meta_id, conversion page, weight of a first conversion, weight of a repeat):
# first conversions are sign-ups and demo requests, repeats lean to upgrades and bookings.
_CONVERSION_KINDS = (
    ("hubspot_form", "5f3c2a1e-8b7d-4c9a-a6e2-1d0f9b3e7c45", "/demo", 0.20, 0.05),
    ("hubspot_form", "a9e41c7b-2d36-4f80-b5c1-7e9d0a2f6b18", "/contact", 0.08, 0.05),
    ("hubspot_form", "c2d8f6a0-4b1e-47c3-9f5a-8e6b3d1a0c79", "/webinar/q3-attribution", 0.05, 0.10),
    ("html_form", "signup-form", "/signup", 0.22, 0.02),
    ("html_form", "newsletter-form", "/blog/multi-touch-attribution-guide", 0.08, 0.05),
    ("html_form", "contact-form", "/contact", 0.05, 0.05),
    ("custom", "trial_started", "/app/onboarding", 0.20, 0.08),
    ("custom", "demo_booked", "/demo/thank-you", 0.10, 0.15),
    ("custom", "plan_upgraded", "/app/billing", 0.02, 0.45),
)
_META_TYPES, _META_IDS, _CONVERSION_PATHS, _FIRST_CONVERSION, _REPEAT_CONVERSION = zip(*_CONVERSION_KINDS)

# The value of each conversion kind above, in cents: the lead value a marketer sets for a form,
# or the order total of an upgrade (a plan at 49, 99 or 299 a month, or a year at 20 % off).
# None: never valued (a newsletter sign-up); shares of valued kinds still arrive without one.
_LEAD_VALUES = (250_00, 100_00, 40_00, 20_00, None, 100_00, 60_00, 400_00, None)
_NO_VALUE_SHARE = (0.02, 0.30, 0.02, 0.02, 1.0, 0.30, 0.02, 0.02, 0.02)
_PLAN_PRICES = np.array([49_00, 99_00, 299_00, 470_40, 950_40, 2_870_40])
_PLAN_WEIGHTS = (0.30, 0.30, 0.10, 0.12, 0.13, 0.05)
_UPGRADE = _META_IDS.index("plan_upgraded")


@dataclass(frozen=True)
class DemoData:
    """The two raw input tables of docs/data.md, ready to write as Parquet/CSV or load."""

    sessions: pa.Table
    conversions: pa.Table


@dataclass(frozen=True)
class _Plan:
    """Per-user decisions taken before any timestamp exists (positions, -1 = none)."""

    sessions_per_user: np.ndarray
    acquisition: np.ndarray
    first_converting: np.ndarray
    repeat_converting: np.ndarray


@dataclass(frozen=True)
class _Journeys:
    """One row per session, ordered by user then position in the user's timeline."""

    user: np.ndarray
    channel: np.ndarray
    started: np.ndarray
    duration: np.ndarray
    has_exit: np.ndarray
    first_converting: np.ndarray
    repeat_converting: np.ndarray


def generate_demo(users: int = 5_000, seed: int = 7, end: datetime | None = None) -> DemoData:
    """Return raw sessions and conversions of `users` visitors in the 90 days ending at `end`.

    `end` defaults to now (UTC); a naive `end` is read as UTC, like docs/data.md#sessions
    timestamps. The same arguments always give identical tables.
    """
    if users < 1:
        raise ValueError("users must be at least 1")
    rng = np.random.default_rng(seed)
    journeys = _journeys(rng, users, _Clock.ending_at(_end_micros(end)))
    order = np.argsort(journeys.started, kind="stable")
    session_ids = _ids("s", len(order), 7)
    sessions = _sessions_table(rng, journeys, order, session_ids, users)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    conversions = _conversions_table(rng, journeys, rank, session_ids)
    return DemoData(sessions=sessions, conversions=conversions)


def _end_micros(end: datetime | None) -> int:
    """Microseconds since the epoch of `end` (now by default), exact for any datetime."""
    if end is None:
        end = datetime.now(timezone.utc)
    elif end.tzinfo is None:
        end = end.replace(tzinfo=timezone.utc)
    return (end - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)


def _choose(rng: np.random.Generator, weights: Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    """Draw `n` small indices (int8, cheap to sort) with probabilities proportional to `weights`."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(len(p), size=n, p=p / p.sum()).astype(np.int8)


def _sessions_per_user(rng: np.random.Generator, users: int) -> np.ndarray:
    """1..8 sessions per user, skewed towards one."""
    return _choose(rng, _SESSIONS_PER_USER, users).astype(np.int64) + 1


def _conversion_plan(
    rng: np.random.Generator, sessions_per_user: np.ndarray, acquisition: np.ndarray
) -> _Plan:
    """Decide who converts, in which session, and who converts again later.

    The first channel drives it: paid search converts often and mostly in the
    first session, so it owns same-session conversions and short times to convert.
    """
    users = len(sessions_per_user)
    converts = rng.random(users) < _CONVERSION_PROBABILITY[acquisition]
    in_first = rng.random(users) < _CONVERTS_IN_FIRST_SESSION[acquisition]
    # Later conversions lean towards the end of the journey, leaving room for assists.
    later = 1 + (np.sqrt(rng.random(users)) * (sessions_per_user - 1)).astype(np.int64)
    first_converting = np.where(converts, np.where(in_first | (sessions_per_user == 1), 0, later), -1)
    sessions_after = sessions_per_user - 1 - first_converting
    repeat_position = first_converting + 1 + (rng.random(users) * sessions_after).astype(np.int64)
    repeats = converts & (sessions_after > 0) & (rng.random(users) < _REPEAT_CONVERSION_SHARE)
    return _Plan(
        sessions_per_user=sessions_per_user,
        acquisition=acquisition,
        first_converting=first_converting,
        repeat_converting=np.where(repeats, repeat_position, -1),
    )


@dataclass(frozen=True)
class _Clock:
    """How busy the site is, hour by hour, from the run-in before the window up to `end`.

    Journeys are laid out on an even "activity" clock and then read off this one:
    an hour twice as busy as average takes twice as many sessions. So every session,
    first or returning, follows the weekly and daily rhythm and the trend, and a
    visitor's next visit after a Friday evening tends to come on Monday.
    """

    first_hour: int
    activity: np.ndarray
    """Activity at each hour boundary (int64, microseconds at average busyness)."""
    end: int

    @classmethod
    def ending_at(cls, end: int) -> _Clock:
        first_hour = (end - _WINDOW_MICROS - _RUN_IN_MICROS) // _MICROS_PER_HOUR * _MICROS_PER_HOUR
        hours = (end - first_hour) // _MICROS_PER_HOUR + 1  # the hour `end` falls in, whole
        starts = first_hour + np.arange(hours, dtype=np.int64) * _MICROS_PER_HOUR
        weekday = (starts // _MICROS_PER_DAY + 3) % 7  # 1 Jan 1970 was a Thursday
        growth = (1.0 + _GROWTH_OVER_WINDOW) ** ((starts - end) / _WINDOW_MICROS)
        busy = _WEEKDAY_RHYTHM[weekday] * _HOURLY_RHYTHM[starts // _MICROS_PER_HOUR % 24] * growth
        widths = np.maximum(np.rint(busy / busy.mean() * _MICROS_PER_HOUR), 1).astype(np.int64)
        return cls(first_hour, np.concatenate([[0], np.cumsum(widths)]), end)

    @property
    def stretch(self) -> float:
        """How much faster than average the busiest hour runs: a session's length times this
        on the activity clock is at least its length on the calendar."""
        return float(np.diff(self.activity).max()) / _MICROS_PER_HOUR * 1.001

    def activity_at(self, micros: int) -> int:
        """The activity clock's reading at a calendar time inside the clock's span."""
        hour = (micros - self.first_hour) // _MICROS_PER_HOUR
        width = int(self.activity[hour + 1] - self.activity[hour])  # Python ints: the product needs more than 64 bits
        into = micros - self.first_hour - hour * _MICROS_PER_HOUR
        return int(self.activity[hour]) + into * width // _MICROS_PER_HOUR

    def calendar(self, activity: np.ndarray) -> np.ndarray:
        """Calendar times (int64 µs) of activity readings; readings past the end run on at the last hour's pace."""
        hour = np.clip(np.searchsorted(self.activity, activity, side="right") - 1, 0, len(self.activity) - 2)
        width = (self.activity[hour + 1] - self.activity[hour]).astype(np.float64)
        into = (activity - self.activity[hour]) / width * _MICROS_PER_HOUR
        return self.first_hour + hour * _MICROS_PER_HOUR + into.astype(np.int64)


@dataclass(frozen=True)
class _Timeline:
    """The planned sessions that lie wholly inside the window (an export holds no others),
    in candidate user then position order."""

    user: np.ndarray
    position: np.ndarray
    started: np.ndarray
    duration: np.ndarray


def _journeys(rng: np.random.Generator, users: int, clock: _Clock) -> _Journeys:
    """Plan journeys for enough visitors, keep the sessions inside the window, and the first `users` visitors that have one.

    Visitors arrive evenly on the activity clock from the run-in to `end`; those who
    arrive during the run-in appear only with their later sessions, and journeys that
    are not over by `end` are cut there. Which visitors are kept does not depend on
    when they came, so the traffic stays steady across the whole window.
    """
    window_start = clock.activity_at(clock.end - _WINDOW_MICROS)
    arriving_inside = 1.0 - window_start / clock.activity_at(clock.end)
    candidates = int(users / arriving_inside * 1.03) + 64
    while True:
        sessions_per_user = _sessions_per_user(rng, candidates)
        plan = _conversion_plan(rng, sessions_per_user, _choose(rng, _ACQUISITION, candidates))
        timeline = _timeline(rng, plan, clock)
        kept_users = np.flatnonzero(np.bincount(timeline.user, minlength=candidates))[:users]
        if kept_users.size == users:
            break
        candidates = candidates * 3 // 2 + 64  # unlucky draw: plan again with more visitors
    new_user = np.full(candidates, -1, dtype=np.int64)
    new_user[kept_users] = np.arange(users)
    rows = np.flatnonzero(new_user[timeline.user] >= 0)
    user = timeline.user[rows]
    position = timeline.position[rows]
    first_converting = position == plan.first_converting[user]
    repeat_converting = position == plan.repeat_converting[user]
    role = _session_roles(position, plan.first_converting[user])
    return _Journeys(
        user=new_user[user],
        channel=_session_channels(rng, role, plan.acquisition[user]),
        started=timeline.started[rows],
        duration=timeline.duration[rows],
        has_exit=rng.random(rows.size) >= _MISSING_EXIT_SHARE,
        first_converting=first_converting,
        repeat_converting=repeat_converting,
    )


def _timeline(rng: np.random.Generator, plan: _Plan, clock: _Clock) -> _Timeline:
    """Start times of every planned session: hours to weeks apart, never overlapping.

    Gaps are drawn on the activity clock (a session's length counts `clock.stretch`
    times there, so it still fits before the next one on the calendar) and read off
    the calendar afterwards.
    """
    sessions_per_user = plan.sessions_per_user
    candidates = len(sessions_per_user)
    user = np.repeat(np.arange(candidates), sessions_per_user)
    first_row = np.cumsum(sessions_per_user) - sessions_per_user
    position = np.arange(len(user)) - first_row[user]
    converting = (position == plan.first_converting[user]) | (position == plan.repeat_converting[user])
    duration = _durations(rng, converting)
    n = len(user)
    mean_gap = _MEAN_GAP_DAYS[plan.acquisition[user]] * _MICROS_PER_DAY
    short = rng.random(n) < _SHORT_GAP_SHARE
    idle = np.where(short, rng.exponential(_MICROS_PER_HOUR, n), rng.exponential(mean_gap))
    previous_duration = np.roll(duration, 1)
    step = (previous_duration * clock.stretch + idle).astype(np.int64)
    step[first_row] = 0
    offset = np.cumsum(step)
    offset -= offset[first_row][user]
    activity_end = clock.activity_at(clock.end)
    activity = (rng.random(candidates) * activity_end).astype(np.int64)[user] + offset
    rows = np.flatnonzero(activity >= clock.activity_at(clock.end - _WINDOW_MICROS))
    rows = rows[activity[rows] <= activity_end]
    started = clock.calendar(activity[rows])
    inside = (started >= clock.end - _WINDOW_MICROS) & (started + duration[rows] <= clock.end)
    rows, started = rows[inside], started[inside]
    return _Timeline(user=user[rows], position=position[rows], started=started, duration=duration[rows])


def _session_roles(position: np.ndarray, first_converting: np.ndarray) -> np.ndarray:
    """docs/metrics.md#roles role of each planned session; the first session keeps _FIRST even when it converts."""
    converted = first_converting >= 0
    role = np.full(len(position), _BROWSE, dtype=np.int8)
    role[converted & (position < first_converting)] = _ASSIST
    role[converted & (position == first_converting)] = _CONVERTING
    role[converted & (position > first_converting)] = _AFTER
    role[position == 0] = _FIRST
    return role


def _session_channels(
    rng: np.random.Generator, role: np.ndarray, acquisition: np.ndarray
) -> np.ndarray:
    """First sessions come from the acquisition channel; later ones from a mix that depends on the role.

    Assists lean on organic search and referrals, conversions on direct and
    paid search, post-conversion sessions on email (onboarding, newsletters).
    """
    channel = acquisition.copy()
    for session_role, weights in _ROLE_CHANNELS.items():
        rows = np.flatnonzero(role == session_role)
        channel[rows] = _choose(rng, weights, rows.size)
    return channel


def _durations(rng: np.random.Generator, converting: np.ndarray) -> np.ndarray:
    """Session lengths in microseconds: seconds to ~30 minutes, skewed; filling a form adds time."""
    seconds = rng.lognormal(mean=np.log(75.0), sigma=1.3, size=len(converting))
    seconds += np.where(converting, rng.uniform(45.0, 600.0, len(converting)), 0.0)
    return (np.clip(seconds, 2.0, 3600.0) * _MICROS_PER_SECOND).astype(np.int64)


def _sessions_table(
    rng: np.random.Generator,
    journeys: _Journeys,
    order: np.ndarray,
    session_ids: pa.Array,
    users: int,
) -> pa.Table:
    """The docs/data.md#sessions table, rows in start order like an export."""
    user_ids = _ids("u", users, 6).take(journeys.user[order])
    started = journeys.started[order]
    exited = started + journeys.duration[order]
    traffic = _raw_traffic(rng, journeys.channel[order])
    columns = {
        "session_id": session_ids,
        "user_id": user_ids,
        "started_at": pa.array(started, type=TIMESTAMP),
        "exited_at": pa.array(exited, type=TIMESTAMP, mask=~journeys.has_exit[order]),
        **traffic,
    }
    return pa.table([columns[name] for name in SESSION_COLUMNS], names=list(SESSION_COLUMNS))


def _conversions_table(
    rng: np.random.Generator, journeys: _Journeys, rank: np.ndarray, session_ids: pa.Array
) -> pa.Table:
    """The docs/data.md#conversions table: each converting session's conversion, some sessions with a second one.

    A conversion happens inside its session (between start and the real end,
    reported or not); a second one in the same session comes after the first.
    """
    first_rows = np.flatnonzero(journeys.first_converting)
    repeat_rows = np.flatnonzero(journeys.repeat_converting)
    rows = np.concatenate([first_rows, repeat_rows])
    started = journeys.started[rows]
    session_end = started + journeys.duration[rows]
    converted = started + (rng.uniform(0.35, 1.0, rows.size) * journeys.duration[rows]).astype(np.int64)
    kinds = np.concatenate([
        _choose(rng, _FIRST_CONVERSION, first_rows.size),
        _choose(rng, _REPEAT_CONVERSION, repeat_rows.size),
    ])
    twice = np.flatnonzero(rng.random(rows.size) < _SECOND_IN_SESSION_SHARE)
    room = session_end[twice] - converted[twice]
    second = converted[twice] + (rng.random(twice.size) * room).astype(np.int64)
    rows = np.concatenate([rows, rows[twice]])
    converted = np.concatenate([converted, second])
    kinds = np.concatenate([kinds, _choose(rng, _REPEAT_CONVERSION, twice.size)])
    order = np.argsort(converted, kind="stable")
    value = _values(rng, kinds[order])
    kinds = pa.array(kinds[order])
    columns = {
        "conversion_id": _ids("c", len(order), 7),
        "session_id": session_ids.take(rank[rows[order]]),
        "converted_at": pa.array(converted[order], type=TIMESTAMP),
        "conversion_page": pa.array([SITE + path for path in _CONVERSION_PATHS]).take(kinds),
        "meta_type": pa.array(_META_TYPES).take(kinds),
        "meta_id": pa.array(_META_IDS).take(kinds),
        "value": value,
    }
    return pa.table([columns[name] for name in CONVERSION_COLUMNS], names=list(CONVERSION_COLUMNS))


def _values(rng: np.random.Generator, kinds: np.ndarray) -> pa.Array:
    """What each conversion is worth: its kind's lead value, or a plan's price for an upgrade; some have none."""
    cents = np.array([value or 0 for value in _LEAD_VALUES], dtype=np.int64)[kinds]
    upgrades = np.flatnonzero(kinds == _UPGRADE)
    cents[upgrades] = _PLAN_PRICES[_choose(rng, _PLAN_WEIGHTS, upgrades.size)]
    missing = rng.random(kinds.size) < np.array(_NO_VALUE_SHARE)[kinds]
    unscaled = np.zeros((kinds.size, 2), dtype=np.int64)  # a decimal128 is a 128-bit count of cents
    unscaled[:, 0] = cents
    values = pa.Array.from_buffers(VALUE, kinds.size, [None, pa.py_buffer(unscaled)])
    return pc.if_else(pa.array(missing), pa.scalar(None, VALUE), values)


def _ids(prefix: str, count: int, digits: int) -> pa.Array:
    """`prefix` + 1..count zero-padded (`s0000001`), widening when the count needs more digits."""
    width = max(digits, len(str(count)))
    numbers = pc.cast(pa.array(np.arange(1, count + 1)), pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(numbers, width, "0"), "")


# --- raw traffic fields, one builder per traffic kind -------------------------------------


def _raw_traffic(rng: np.random.Generator, channel: np.ndarray) -> dict[str, pa.ChunkedArray]:
    """landing_page, referrer and utm_* of each session: built per traffic kind, put back in row order."""
    builders = (
        _paid_search, _organic_search, _referral, _social, _paid_social, _email,
        _ai_assistant, _direct, _display, _affiliate, _other_paid, _other_tagged,
    )
    counts = np.bincount(channel, minlength=len(builders))
    parts = [build(rng, int(count)) for build, count in zip(builders, counts)]
    by_channel = np.argsort(channel, kind="stable")
    back = np.empty_like(by_channel)
    back[by_channel] = np.arange(len(channel))
    return {
        name: pa.chunked_array([part.pop(name) for part in parts], pa.string()).take(back)
        for name in ("landing_page", "referrer", *UTM_FIELDS)
    }


def _paid_search(rng: np.random.Generator, n: int) -> dict[str, pa.Array]:
    """Ad clicks: a gclid (msclkid on Bing) always, search-engine referrer mostly, UTM tags on most.

    Content and term are filled for part of the tagged clicks, as ad platforms do.
    """
    bing = rng.random(n) < 0.15
    click_id = pc.if_else(
        bing,
        _param("msclkid", _token(rng, n, 32, _HEX_ALPHABET)),
        _param("gclid", pc.binary_join_element_wise("Cj0KCQjw", _token(rng, n, 40, _GCLID_ALPHABET), "")),
    )
    engine = pc.if_else(bing, "https://www.bing.com/", "https://www.google.com/")
    referrer = _only(rng.random(n) < 0.85, engine)
    tagged = rng.random(n) < 0.75
    values = {
        "utm_source": _only(tagged, pc.if_else(bing, "bing", "google")),
        "utm_medium": _only(tagged, "cpc"),
        "utm_campaign": _only(tagged, _pick(
            rng, ("brand", "spring_sale", "retargeting", "webinar_q3", "competitor_alternatives"),
            n, (0.35, 0.25, 0.10, 0.10, 0.20),
        )),
        "utm_content": _only(tagged & (rng.random(n) < 0.6), _pick(
            rng, ("text_ad", "text_ad_b", "banner_a", "banner_b"), n, (0.45, 0.25, 0.15, 0.15),
        )),
        "utm_term": _only(tagged & (rng.random(n) < 0.7), _pick(rng, _TERMS, n)),
    }
    columns, params = _utm(rng, values, column_share=0.5, query_share=0.25)
    paths = ("/", "/pricing", "/demo", "/signup", "/features", "/lp/attribution")
    landing = _landing(_pages(rng, paths, n, (0.25, 0.20, 0.20, 0.15, 0.10, 0.10)), [*params, click_id])
    return {"landing_page": landing, "referrer": referrer, **columns}


def _organic_search(rng: np.random.Generator, n: int) -> dict[str, pa.Array]:
    """Unpaid search: only a search-engine referrer, landing mostly on content pages."""
    referrer = _pick(
        rng,
        ("https://www.google.com/", "https://www.google.co.uk/", "https://www.google.de/",
         "https://www.bing.com/", "https://duckduckgo.com/", "https://search.yahoo.com/",
         "https://www.ecosia.org/"),
        n, (0.55, 0.10, 0.05, 0.12, 0.10, 0.05, 0.03),
    )
    paths = ("/", "/features", "/pricing", *_BLOG)
    return _untagged(_pages(rng, paths, n, (3, 2, 1, 2, 2, 1, 1, 1, 1)), referrer)


def _referral(rng: np.random.Generator, n: int) -> dict[str, pa.Array]:
    """Links from other sites: reviews, blogs, docs; no tags."""
    referrer = _pick(
        rng,
        ("https://blog.example.org/post/best-attribution-tools",
         "https://www.g2.com/products/acme-analytics/reviews",
         "https://www.capterra.com/p/184512/acme-analytics/",
         "https://github.com/acme-analytics/acme-js",
         "https://medium.com/@jane.doe/why-we-switched-to-acme",
         "https://www.producthunt.com/posts/acme-analytics"),
        n, (0.25, 0.25, 0.10, 0.15, 0.15, 0.10),
    )
    paths = ("/", "/features", "/pricing", "/integrations/hubspot", "/customers")
    return _untagged(_pages(rng, paths, n), referrer)


def _social(rng: np.random.Generator, n: int) -> dict[str, pa.Array]:
    """Unpaid social posts: platform referrers (short links carry a path); Facebook adds an fbclid."""
    platforms = ("https://l.facebook.com/", "https://t.co/", "https://www.linkedin.com/",
                 "https://lnkd.in/", "https://news.ycombinator.com/item?id=",
                 "https://www.reddit.com/r/analytics/", "https://www.youtube.com/")
    platform = _choose(rng, (0.25, 0.20, 0.20, 0.05, 0.10, 0.12, 0.08), n)
    short_link = np.isin(platform, (1, 3))
    hacker_news = platform == 4
    item_id = pc.cast(pa.array(rng.integers(38_000_000, 42_000_000, n)), pa.string())
    suffix = pc.if_else(
        short_link,
        _token(rng, n, 10, _GCLID_ALPHABET[:62]),
        pc.if_else(hacker_news, item_id, ""),
    )
    referrer = pc.binary_join_element_wise(pa.array(platforms).take(platform), suffix, "")
    fbclid = _param("fbclid", pc.binary_join_element_wise("IwAR", _token(rng, n, 40, _GCLID_ALPHABET), ""))
    with_fbclid = (platform == 0) & (rng.random(n) < 0.7)
    paths = ("/", "/features", *_BLOG)
    landing = _landing(_pages(rng, paths, n), [pc.if_else(with_fbclid, fbclid, "")])
    return _untagged(landing, referrer)


def _paid_social(rng: np.random.Generator, n: int) -> dict[str, pa.Array]:
    """Social ads tagged utm_medium=paid_social; Facebook adds an fbclid, which changes nothing (docs/data.md#source-and-medium)."""
    facebook = rng.random(n) < 0.75
    referrer = pc.if_else(
        facebook,
        _pick(rng, ("https://l.facebook.com/", "https://m.facebook.com/", None), n, (0.6, 0.2, 0.2)),
        _only(rng.random(n) < 0.7, "https://www.linkedin.com/"),
    )
    tagged = rng.random(n) < 0.95
    values = {
        "utm_source": _only(tagged, pc.if_else(facebook, "facebook", "linkedin")),
        "utm_medium": _only(tagged, "paid_social"),
        "utm_campaign": _only(tagged, _pick(
            rng, ("retargeting", "spring_sale", "webinar_q3"), n, (0.4, 0.3, 0.3),
        )),
        "utm_content": _only(tagged & (rng.random(n) < 0.8), _pick(
            rng, ("banner_a", "banner_b", "video_15s"), n,
        )),
    }
    columns, params = _utm(rng, values, column_share=0.4, query_share=0.4)
    fbclid = _param("fbclid", pc.binary_join_element_wise("IwAR", _token(rng, n, 40, _GCLID_ALPHABET), ""))
    paths = ("/demo", "/webinar/q3-attribution", "/pricing", "/lp/attribution")
    landing = _landing(_pages(rng, paths, n), [*params, pc.if_else(facebook, fbclid, "")])
    return {"landing_page": landing, "referrer": referrer, **columns}


def _email(rng: np.random.Generator, n: int) -> dict[str, pa.Array]:
    """Newsletters and onboarding mails: UTM mostly only in the landing-page query string.

    So the loader must read UTM from the URL (docs/data.md#sessions). Untagged clicks come
    from webmail and show only the webmail referrer.
    """
    tagged = rng.random(n) < 0.8
    values = {
        "utm_source": _only(tagged, "newsletter"),
        "utm_medium": _only(tagged, "email"),
        "utm_campaign": _only(tagged, _pick(
            rng,
            ("onboarding_day1", "onboarding_day7", "monthly_newsletter", "webinar_q3", "product_update"),
            n, (0.25, 0.20, 0.25, 0.15, 0.15),
        )),
        "utm_content": _only(tagged & (rng.random(n) < 0.5), _pick(rng, ("header_link", "cta_button"), n)),
    }
    columns, params = _utm(rng, values, column_share=0.0, query_share=0.85)
    webmail = _pick(
        rng, ("https://mail.google.com/", "https://outlook.live.com/", "https://mail.yahoo.com/"),
        n, (0.6, 0.25, 0.15),
    )
    referrer = pc.if_else(tagged, _only(rng.random(n) < 0.1, "https://mail.google.com/"), webmail)
    paths = ("/webinar/q3-attribution", "/changelog", "/pricing", "/docs/getting-started", *_BLOG)
    landing = _landing(_pages(rng, paths, n), params)
    return {"landing_page": landing, "referrer": referrer, **columns}


def _ai_assistant(rng: np.random.Generator, n: int) -> dict[str, pa.Array]:
    """Links from AI assistants; ChatGPT often appends utm_source=chatgpt.com to the URL."""
    assistant = _choose(rng, (0.6, 0.3, 0.1), n)
    assistants = ("https://chatgpt.com/", "https://www.perplexity.ai/", "https://gemini.google.com/")
    referrer = pa.array(assistants).take(assistant)
    tagged = (assistant == 0) & (rng.random(n) < 0.5)
    columns, params = _utm(rng, {"utm_source": _only(tagged, "chatgpt.com")},
                           column_share=0.0, query_share=1.0)
    paths = ("/", "/features", "/pricing", *_BLOG[:3])
    return {"landing_page": _landing(_pages(rng, paths, n), params), "referrer": referrer, **columns}


def _direct(rng: np.random.Generator, n: int) -> dict[str, pa.Array]:
    """Typed-in or bookmarked visits; a few self-referrals, which docs/data.md#source-and-medium also counts as direct."""
    referrer = _only(rng.random(n) < 0.03, SITE + "/pricing")
    paths = ("/", "/pricing", "/login", "/features", "/docs/getting-started")
    return _untagged(_pages(rng, paths, n, (0.35, 0.2, 0.25, 0.1, 0.1)), referrer)


def _display(rng: np.random.Generator, n: int) -> dict[str, pa.Array]:
    """Banner ads on publisher sites, always tagged by the ad server; Google's also carry a gclid.

    The tagged medium (display, cpm, banner) wins over the click id (docs/data.md#source-and-medium),
    so they group as Display, not Paid Search.
    """
    network = _choose(rng, (0.55, 0.25, 0.20), n)
    values = {
        "utm_source": pa.array(("google", "criteo", "adroll")).take(network),
        "utm_medium": _pick(rng, ("display", "cpm", "banner"), n, (0.5, 0.3, 0.2)),
        "utm_campaign": _pick(rng, ("retargeting", "brand_awareness", "webinar_q3"), n, (0.5, 0.3, 0.2)),
        "utm_content": _pick(rng, ("banner_a", "banner_b", "300x250", "728x90"), n),
    }
    columns, params = _utm(rng, values, column_share=0.3, query_share=0.5)
    gclid = _param("gclid", pc.binary_join_element_wise("EAIaIQob", _token(rng, n, 40, _GCLID_ALPHABET), ""))
    referrer = _pick(
        rng, ("https://www.techradar.com/news/", "https://www.theverge.com/tech", "https://www.marketingweek.com/", None),
        n, (0.2, 0.2, 0.2, 0.4),
    )
    paths = ("/", "/lp/attribution", "/demo", "/pricing")
    landing = _landing(_pages(rng, paths, n), [*params, pc.if_else(network == 0, gclid, "")])
    return {"landing_page": landing, "referrer": referrer, **columns}


def _affiliate(rng: np.random.Generator, n: int) -> dict[str, pa.Array]:
    """Partner links: review blogs and affiliate networks tag utm_medium=affiliate; a few forget the tags."""
    partner = _choose(rng, (0.35, 0.25, 0.25, 0.15), n)
    tagged = rng.random(n) < 0.9
    values = {
        "utm_source": _only(tagged, pa.array(("martech_weekly", "growthlab", "partnerstack", "impact")).take(partner)),
        "utm_medium": _only(tagged, _pick(rng, ("affiliate", "affiliates"), n, (0.85, 0.15))),
        "utm_campaign": _only(tagged, "partner_program"),
    }
    columns, params = _utm(rng, values, column_share=0.2, query_share=0.6)
    referrer = pa.array((
        "https://www.martechweekly.com/reviews/acme-analytics", "https://growthlab.io/tools/attribution",
        None, None,
    ), pa.string()).take(partner)
    paths = ("/", "/pricing", "/signup", "/lp/partners")
    return {"landing_page": _landing(_pages(rng, paths, n), params), "referrer": referrer, **columns}


def _other_paid(rng: np.random.Generator, n: int) -> dict[str, pa.Array]:
    """Paid placements that are neither search nor social ads: review-site listings, a podcast sponsorship."""
    placement = _choose(rng, (0.5, 0.3, 0.2), n)
    values = {
        "utm_source": pa.array(("capterra", "g2", "martech_podcast")).take(placement),
        "utm_medium": pa.array(("cpc", "ppc", "paid")).take(placement),
        "utm_campaign": pa.array(("category_listing", "category_listing", "podcast_q3")).take(placement),
    }
    columns, params = _utm(rng, values, column_share=0.4, query_share=0.4)
    referrer = pa.array((
        "https://www.capterra.com/marketing-attribution-software/", "https://www.g2.com/categories/attribution",
        None,
    ), pa.string()).take(placement)
    paths = ("/", "/pricing", "/demo")
    return {"landing_page": _landing(_pages(rng, paths, n), params), "referrer": referrer, **columns}


def _other_tagged(rng: np.random.Generator, n: int) -> dict[str, pa.Array]:
    """Offline links tagged in-house (a QR code at a booth, a postcard, a partner's webinar): no group fits them."""
    kind = _choose(rng, (0.4, 0.35, 0.25), n)
    values = {
        "utm_source": pa.array(("saastr_booth", "direct_mail", "partner_webinar")).take(kind),
        "utm_medium": pa.array(("qr", "print", None), pa.string()).take(kind),
        "utm_campaign": pa.array(("saastr_2025", "postcard_q3", "joint_webinar")).take(kind),
    }
    columns, params = _utm(rng, values, column_share=0.0, query_share=1.0)
    paths = ("/", "/demo", "/webinar/q3-attribution")
    return {"landing_page": _landing(_pages(rng, paths, n), params), "referrer": pa.nulls(n, pa.string()), **columns}


# --- small string builders -----------------------------------------------------------------


def _pick(
    rng: np.random.Generator, pool: Sequence[str | None], n: int, weights: Sequence[float] | None = None
) -> pa.Array:
    """`n` values drawn from `pool` (uniformly unless weighted); None in the pool gives nulls."""
    return pa.array(pool, pa.string()).take(_choose(rng, weights or [1.0] * len(pool), n))


def _only(mask: np.ndarray, values: pa.Array | str) -> pa.Array:
    """`values` where `mask` holds, null elsewhere."""
    return pc.if_else(mask, values, _NULL)


def _token(rng: np.random.Generator, n: int, length: int, alphabet: bytes) -> pa.Array:
    """Random opaque ids (click ids, short links): one byte matrix wrapped as strings, no per-row work."""
    codes = rng.integers(0, len(alphabet), size=n * length, dtype=np.uint8)
    chars = np.frombuffer(alphabet, dtype=np.uint8)[codes]
    offsets = np.arange(0, (n + 1) * length, length, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars))


def _param(name: str, values: pa.Array) -> pa.Array:
    """`&name=value` query-string parts (spaces as `+`), "" where the value is null."""
    encoded = pc.replace_substring(values, " ", "+")
    return pc.fill_null(pc.binary_join_element_wise(f"&{name}=", encoded, ""), "")


def _utm(
    rng: np.random.Generator, values: dict[str, pa.Array], column_share: float, query_share: float
) -> tuple[dict[str, pa.Array], list[pa.Array]]:
    """Put each session's UTM values in the utm_* columns, the landing-page query string, or both.

    Exports differ in where tags live; docs/data.md#sessions falls back to the query string
    when a column is empty, so all three placements must occur.
    """
    n = len(next(iter(values.values())))
    draw = rng.random(n)
    in_column = (draw < column_share) | (draw >= column_share + query_share)
    in_query = draw >= column_share
    columns = {name: pa.nulls(n, pa.string()) for name in UTM_FIELDS}
    columns.update({name: _only(in_column, value) for name, value in values.items()})
    params = [_param(name, _only(in_query, value)) for name, value in values.items()]
    return columns, params


def _landing(page: pa.Array, params: list[pa.Array]) -> pa.Array:
    """Landing-page URL: the page plus its non-empty params (each `&name=value`), the first `&` made `?`.

    Pages carry no query of their own, so the first `&` is the query's start.
    """
    url = pc.binary_join_element_wise(page, *params, "")
    return pc.replace_substring(url, "&", "?", max_replacements=1)


def _pages(
    rng: np.random.Generator, paths: Sequence[str], n: int, weights: Sequence[float] | None = None
) -> pa.Array:
    """`n` full page URLs on the site, drawn from `paths`."""
    return _pick(rng, [SITE + path for path in paths], n, weights)


def _untagged(landing: pa.Array, referrer: pa.Array) -> dict[str, pa.Array]:
    """Raw fields of a session without any UTM tag."""
    n = len(landing)
    return {"landing_page": landing, "referrer": referrer,
            **{name: pa.nulls(n, pa.string()) for name in UTM_FIELDS}}
