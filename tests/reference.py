"""Plain-Python reference model of the parameters and metrics of docs/metrics.md, written from its text only.

Used by property tests to cross-check the real implementation.  Clarity and
literal fidelity to the definitions beat speed: simple loops, sets and dicts, exact
arithmetic (integer microseconds and fractions.Fraction) until the very end.

Conventions chosen where the definitions are silent are marked "CONVENTION n".
"""
import re
from datetime import datetime, timedelta, timezone
from fractions import Fraction

NO_DATA = {"message": "No page data found for the given parameters."}
SESSION_FILTERS = ["source", "medium", "campaign", "content", "term", "landing_page", "channel", "channel_group"]
CONVERSION_FILTERS = ["conversion_page", "meta_type", "meta_id"]
BINS = [  # docs/metrics.md#conversion-summary: label, lower bound (inclusive), upper bound (exclusive), in seconds
    ("0-1 days", 0, 86400),
    ("1-3 days", 86400, 259200),
    ("3-7 days", 259200, 604800),
    ("7+ days", 604800, None),
]
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# ---------------------------------------------------------------- helpers
def given(params, key):
    """docs/metrics.md#parameters: `null` and "" mean "not given"."""
    value = params.get(key)
    return value is not None and value != ""


def parse_bound(text, is_end):
    """docs/metrics.md#parameters, #window: a date is 00:00:00 (start) or 23:59:59.999999 (end) UTC that day;
    a datetime with an offset is converted to UTC; without an offset it is UTC."""
    if DATE_ONLY.match(text):
        day = datetime.fromisoformat(text)
        return day + timedelta(days=1, microseconds=-1) if is_end else day
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def secs(delta):
    """docs/metrics.md: durations in seconds; CONVENTION 2: exact, via integer microseconds."""
    us = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return Fraction(us, 1_000_000)


def half_up(value, decimals):
    """CONVENTION 3/4/5: round a non-negative exact Fraction half up; returns an
    integer n meaning n / 10**decimals."""
    scale = 10 ** decimals
    scaled = Fraction(value) * scale + Fraction(1, 2)
    return scaled.numerator // scaled.denominator  # floor(x * scale + 1/2)


def round1(value):
    """CONVENTION 3: round half up to 1 decimal, as a float; None over nothing."""
    if value is None:
        return None
    return float(Fraction(half_up(value, 1), 10))


def mean(values):
    """Exact mean (Fraction); None when taken over nothing (docs/metrics.md)."""
    if not values:
        return None
    return Fraction(sum(values), len(values))


def median(values):
    """Exact median; an even count gives the mean of the two middle values (docs/metrics.md)."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2 == 1:
        return Fraction(ordered[mid])
    return Fraction(ordered[mid - 1] + ordered[mid], 2)


def pct(a, b):
    """docs/metrics.md / CONVENTION 4: "NN.NN%", "0.00%" when b == 0."""
    if b == 0:
        return "0.00%"
    n = half_up(Fraction(100 * a, b), 2)
    return f"{n // 100}.{n % 100:02d}%"


def channel_of(session):
    """docs/data.md#channel: the channel is medium + "/" + source."""
    return session["medium"] + "/" + session["source"]


def session_value(session, name):
    """What a session filter is matched against (docs/metrics.md#session-filters): the session's
    source, medium, UTM campaign/content/term and landing page as stored, its channel
    (medium/source), and its channel group. The reference does not derive channel groups
    (docs/data.md#channel-groups): a session without a "channel_group" has none (None)."""
    if name == "channel":
        return channel_of(session)
    return session.get(name)


# ---------------------------------------------------------------- the model
def reference_insights(sessions: list[dict], conversions: list[dict], params: dict) -> dict:
    by_id = {s["session_id"]: s for s in sessions}

    # Conversions per session (docs/data.md#conversions: a conversion's user is its session's user).
    conv_of = {sid: [] for sid in by_id}
    for c in conversions:
        assert c["session_id"] in by_id, "docs/data.md#conversions: conversion of an unknown session"
        conv_of[c["session_id"]].append(c)

    # docs/metrics.md#roles / CONVENTION 1: each user's FULL timeline (all given sessions),
    # ordered by started_at, ties broken by session_id ascending.
    timeline = {}
    for s in sessions:
        timeline.setdefault(s["user_id"], []).append(s)
    for u in timeline:
        timeline[u].sort(key=lambda s: (s["started_at"], s["session_id"]))

    # docs/metrics.md#roles: roles, by position in the timeline.
    position = {}           # session_id -> index in its user's timeline
    first_conv_index = {}   # user -> index of first_converting_session(u) (only users who converted)
    for u, tl in timeline.items():
        for i, s in enumerate(tl):
            position[s["session_id"]] = i
            if conv_of[s["session_id"]] and u not in first_conv_index:
                first_conv_index[u] = i

    def roles(s):
        u, i = s["user_id"], position[s["session_id"]]
        held = set()
        if i == 0:
            held.add("first")                       # the user's first session
        if conv_of[s["session_id"]]:
            held.add("converting")                  # at least one conversion
        if u in first_conv_index:                   # only users who converted have assists / afters
            k = first_conv_index[u]
            if 0 < i < k:
                held.add("assist")                  # strictly after first, strictly before first converting
            if i > k:
                held.add("after")                   # strictly after the first converting session
        return held

    # docs/metrics.md#window: the window (defaults: end = now UTC, start = end - 30 days), inclusive both ends.
    end = parse_bound(params["end_date"], True) if given(params, "end_date") \
        else datetime.now(timezone.utc).replace(tzinfo=None)
    start = parse_bound(params["start_date"], False) if given(params, "start_date") \
        else end - timedelta(days=30)
    scope = params.get("touch_scope") if given(params, "touch_scope") else "any"

    # docs/metrics.md#cohort: matching sessions S.
    matching = []
    for s in sessions:
        if not (start <= s["started_at"] <= end):           # docs/metrics.md#window: window on started_at
            continue
        # docs/metrics.md#parameters / CONVENTION 9: exact, case-sensitive; None never matches a given filter.
        if any(given(params, f) and session_value(s, f) != params[f] for f in SESSION_FILTERS):
            continue
        # docs/metrics.md#conversion-filters: ONE conversion of the session must satisfy all given conversion filters.
        active = [f for f in CONVERSION_FILTERS if given(params, f)]
        if active and not any(all(c[f] == params[f] for f in active)
                              for c in conv_of[s["session_id"]]):
            continue
        if scope != "any" and scope not in roles(s):        # docs/metrics.md#roles: touch_scope
            continue
        matching.append(s)

    # docs/metrics.md#cohort: cohort U and journey J.
    U = {s["user_id"] for s in matching}
    if not U:
        return dict(NO_DATA)
    J = [s for u in U for s in timeline[u]]
    C = {u for u in U if u in first_conv_index}  # docs/metrics.md: cohort users with >= 1 conversion

    # docs/metrics.md#user-summary.
    sessions_of_C = sum(len(timeline[u]) for u in C)
    user_summary = {
        "total_users": len(U),
        "total_converted_users": len(C),
        "conversion_rate": pct(len(C), len(U)),
        "avg_sessions_per_user": round1(Fraction(len(J), len(U))),
        "avg_sessions_per_converted_user": round1(Fraction(sessions_of_C, len(C)) if C else None),
    }

    # docs/metrics.md#session-summary, over S only.
    all_durations, converting_durations, drop_durations = [], [], []
    total_converting = total_drop = 0
    for s in matching:
        convs = conv_of[s["session_id"]]
        if s["exited_at"] is not None:
            all_durations.append(secs(s["exited_at"] - s["started_at"]))
        if convs:
            total_converting += 1
            earliest = min(c["converted_at"] for c in convs)      # CONVENTION 8
            converting_durations.append(secs(earliest - s["started_at"]))
        elif s["exited_at"] is not None:
            total_drop += 1                                       # no conversion AND an exited_at
            drop_durations.append(secs(s["exited_at"] - s["started_at"]))
    session_summary = {
        "total_sessions": len(matching),
        "total_converting_sessions": total_converting,
        "total_drop_off_sessions": total_drop,
        "avg_session_duration_seconds": round1(mean(all_durations)),
        "avg_converting_session_duration": round1(mean(converting_durations)),
        "avg_drop_off_session_duration": round1(mean(drop_durations)),
        "median_converting_session_duration": round1(median(converting_durations)),
        "median_drop_off_session_duration": round1(median(drop_durations)),
    }

    # docs/metrics.md#conversion-summary, over C.
    # first_conversion_at(u) = earliest converted_at over ALL of u's conversions
    # (not necessarily inside first_converting_session(u)).
    ttc = []
    for u in C:
        first_conversion_at = min(c["converted_at"] for s in timeline[u] for c in conv_of[s["session_id"]])
        ttc.append(secs(first_conversion_at - timeline[u][0]["started_at"]))
    counts = {}
    for label, low, high in BINS:
        counts[label] = sum(1 for t in ttc if t >= low and (high is None or t < high))
    percentages = {label: (float(Fraction(half_up(Fraction(100 * n, len(C)), 2), 100)) if C else 0.0)
                   for label, n in counts.items()}             # CONVENTION 5
    conversion_summary = {
        "avg_time_to_convert": round1(mean(ttc)),
        "median_time_to_convert": round1(median(ttc)),
        "conversion_timeline_bins": {"counts": counts, "percentages": percentages},
    }

    # docs/metrics.md#channels, over J.
    channels = []
    for ch in sorted({channel_of(s) for s in J}):
        on_ch = [s for s in J if channel_of(s) == ch]
        users = {s["user_id"] for s in on_ch}                  # all J users are in U
        first_touch, assisting, converting, after, attributed = set(), set(), set(), set(), set()
        for s in on_ch:
            u = s["user_id"]
            if u not in C:                                     # converting_users_* / attributed: C only
                continue
            held = roles(s)
            if "first" in held:
                first_touch.add(u)
            if "assist" in held:
                assisting.add(u)
            if "converting" in held:
                converting.add(u)
            if "after" in held:
                after.add(u)
            if position[s["session_id"]] <= first_conv_index[u]:  # at or before first converting session
                attributed.add(u)
        channels.append({
            "channel": ch,
            "total_sessions": len(on_ch),
            "total_users": len(users),
            "converting_users_first_touch": len(first_touch),
            "converting_users_assisting_touch": len(assisting),
            "converting_users_converting_touch": len(converting),
            "converting_users_after_touch": len(after),
            "session_influence": pct(len(on_ch), len(J)),
            "conversion_influence": pct(len(attributed), len(C)),
            "attributed_to_conversion": len(attributed),
            "conversion_rate": pct(len(attributed), len(users)),
        })
    # CONVENTION 7: total_sessions + total_users descending, then channel ascending.
    channels.sort(key=lambda c: (-(c["total_sessions"] + c["total_users"]), c["channel"]))

    return {"overall_metrics": {
        "user_summary": user_summary,
        "session_summary": session_summary,
        "conversion_summary": conversion_summary,
        "channels": channels,
    }}
