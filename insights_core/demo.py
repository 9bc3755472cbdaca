"""Realistic synthetic input data for Insights, as the raw files a user would load.

`generate_demo` writes the two tables of SPEC 1.1 / 1.2 exactly as a tracking
script would export them for the made-up site https://www.acme-analytics.com:
landing-page URLs with click ids and UTM query strings, referrer URLs, UTM
columns filled for only some sessions, and conversions inside their sessions.
Nothing derived (source, medium, channel, roles) is written: the loader has to
compute it per SPEC 2, which is what the demo exercises. Channels behave
differently on purpose (paid search closes fast, organic search and referrals
assist, email follows the first conversion) so that every metric and every
touch_scope of SPEC 3.3 / 4 has something to show. Every step is vectorised
numpy / pyarrow over all rows at once, so a million users take seconds, and
the same (users, seed, end) always gives identical tables.
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
    "conversion_id", "session_id", "converted_at", "conversion_page", "meta_type", "meta_id",
)
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
TIMESTAMP = pa.timestamp("us", tz="UTC")

_MICROS_PER_SECOND = 1_000_000
_MICROS_PER_DAY = 86_400 * _MICROS_PER_SECOND
_WINDOW_MICROS = WINDOW // timedelta(microseconds=1)
# A journey's idle time is squeezed to fit this, leaving room for its sessions.
_JOURNEY_BUDGET_MICROS = 85 * _MICROS_PER_DAY
_NULL = pa.scalar(None, pa.string())

# Session roles of SPEC 3.3 as the generator plans them; _BROWSE = a non-converter's later session.
_FIRST, _ASSIST, _CONVERTING, _AFTER, _BROWSE = range(5)

# P(1..8 sessions): many one-session users, a long tail; about 3 on average.
_SESSIONS_PER_USER = (0.35, 0.18, 0.13, 0.10, 0.08, 0.07, 0.05, 0.04)

# Traffic kinds are the generator's own ground truth, never written out. Arrays below are
# indexed by kind, in the order of `_raw_traffic`'s builders:
#   paid search, organic search, referral, social, paid social, email, AI assistant, direct
_ACQUISITION = np.array([0.20, 0.25, 0.08, 0.10, 0.07, 0.03, 0.04, 0.23])
_CONVERSION_PROBABILITY = np.array([0.45, 0.22, 0.25, 0.12, 0.20, 0.25, 0.35, 0.20])
_CONVERTS_IN_FIRST_SESSION = np.array([0.75, 0.20, 0.25, 0.20, 0.35, 0.30, 0.40, 0.30])
_MEAN_GAP_DAYS = np.array([0.4, 4.0, 4.0, 5.0, 2.0, 3.0, 3.0, 3.0])
_ROLE_CHANNELS = {
    _ASSIST: (0.08, 0.32, 0.16, 0.12, 0.05, 0.03, 0.05, 0.19),
    _CONVERTING: (0.24, 0.15, 0.05, 0.03, 0.08, 0.06, 0.04, 0.35),
    _AFTER: (0.03, 0.08, 0.03, 0.03, 0.03, 0.55, 0.02, 0.23),
    _BROWSE: (0.10, 0.28, 0.10, 0.12, 0.05, 0.02, 0.03, 0.30),
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


@dataclass(frozen=True)
class DemoData:
    """The two raw input tables of SPEC 1, ready to write as Parquet/CSV or load."""

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

    `end` defaults to now (UTC); a naive `end` is read as UTC, like SPEC 1.1
    timestamps. The same arguments always give identical tables.
    """
    if users < 1:
        raise ValueError("users must be at least 1")
    end_micros = _end_micros(end)
    rng = np.random.default_rng(seed)
    plan = _conversion_plan(rng, _sessions_per_user(rng, users), _choose(rng, _ACQUISITION, users))
    journeys = _journeys(rng, plan, end_micros)
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


def _journeys(rng: np.random.Generator, plan: _Plan, end_micros: int) -> _Journeys:
    """Expand the per-user plan to one row per session with channel and timing."""
    sessions_per_user = plan.sessions_per_user
    user = np.repeat(np.arange(len(sessions_per_user)), sessions_per_user)
    first_row = np.cumsum(sessions_per_user) - sessions_per_user
    position = np.arange(len(user)) - first_row[user]
    first_converting = position == plan.first_converting[user]
    repeat_converting = position == plan.repeat_converting[user]
    role = _session_roles(position, plan.first_converting[user])
    duration = _durations(rng, first_converting | repeat_converting)
    started = _start_times(rng, plan, user, position, first_row, duration, end_micros)
    return _Journeys(
        user=user,
        channel=_session_channels(rng, role, plan.acquisition[user]),
        started=started,
        duration=duration,
        has_exit=rng.random(len(user)) >= _MISSING_EXIT_SHARE,
        first_converting=first_converting,
        repeat_converting=repeat_converting,
    )


def _session_roles(position: np.ndarray, first_converting: np.ndarray) -> np.ndarray:
    """SPEC 3.3 role of each planned session; the first session keeps _FIRST even when it converts."""
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


def _start_times(
    rng: np.random.Generator,
    plan: _Plan,
    user: np.ndarray,
    position: np.ndarray,
    first_row: np.ndarray,
    duration: np.ndarray,
    end_micros: int,
) -> np.ndarray:
    """Sessions of a user follow each other without overlap, hours to weeks apart, all inside the window.

    Idle gaps are squeezed for the rare journey too long for the window, and each
    journey starts at a random time that still lets it end before `end`.
    """
    n = len(user)
    mean_gap = _MEAN_GAP_DAYS[plan.acquisition[user]] * _MICROS_PER_DAY
    short = rng.random(n) < _SHORT_GAP_SHARE
    idle = np.where(short, rng.exponential(3600.0 * _MICROS_PER_SECOND, n), rng.exponential(mean_gap))
    idle[position == 0] = 0.0
    previous_duration = np.roll(duration, 1)
    previous_duration[position == 0] = 0
    users = len(plan.sessions_per_user)
    idle_total = np.bincount(user, weights=idle, minlength=users)
    busy_total = np.bincount(user, weights=previous_duration, minlength=users)
    squeeze = np.minimum(1.0, (_JOURNEY_BUDGET_MICROS - busy_total) / np.maximum(idle_total, 1.0))
    step = previous_duration + (idle * squeeze[user]).astype(np.int64)
    offset = np.cumsum(step)
    offset -= offset[first_row][user]
    last_row = first_row + plan.sessions_per_user - 1
    span = offset[last_row] + duration[last_row]
    slack = _WINDOW_MICROS - _MICROS_PER_SECOND - span
    journey_start = end_micros - _WINDOW_MICROS + (rng.random(users) * slack).astype(np.int64)
    return journey_start[user] + offset


def _sessions_table(
    rng: np.random.Generator,
    journeys: _Journeys,
    order: np.ndarray,
    session_ids: pa.Array,
    users: int,
) -> pa.Table:
    """The SPEC 1.1 table, rows in start order like an export."""
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
    """The SPEC 1.2 table: each converting session's conversion, some sessions with a second one.

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
    kinds = pa.array(kinds[order])
    columns = {
        "conversion_id": _ids("c", len(order), 7),
        "session_id": session_ids.take(rank[rows[order]]),
        "converted_at": pa.array(converted[order], type=TIMESTAMP),
        "conversion_page": pa.array([SITE + path for path in _CONVERSION_PATHS]).take(kinds),
        "meta_type": pa.array(_META_TYPES).take(kinds),
        "meta_id": pa.array(_META_IDS).take(kinds),
    }
    return pa.table([columns[name] for name in CONVERSION_COLUMNS], names=list(CONVERSION_COLUMNS))


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
        _ai_assistant, _direct,
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
    """Social ads tagged utm_medium=paid_social; Facebook adds an fbclid, which changes nothing (SPEC 2)."""
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

    So the loader must read UTM from the URL (SPEC 1.1). Untagged clicks come
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
    """Typed-in or bookmarked visits; a few self-referrals, which SPEC 2 also counts as direct."""
    referrer = _only(rng.random(n) < 0.03, SITE + "/pricing")
    paths = ("/", "/pricing", "/login", "/features", "/docs/getting-started")
    return _untagged(_pages(rng, paths, n, (0.35, 0.2, 0.25, 0.1, 0.1)), referrer)


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

    Exports differ in where tags live; SPEC 1.1 falls back to the query string
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
