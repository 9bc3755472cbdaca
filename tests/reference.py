"""Plain-Python reference model of the metrics, attribution, trend and breakdown (written from the contract's text only).

Used by property tests to cross-check the real implementation.  Clarity and
literal fidelity to the definitions beat speed: simple loops, sets and dicts, exact
arithmetic (integer microseconds and fractions.Fraction) until the very end.
The one irrational quantity, the time-decay weight 2^(-x), is computed with
``decimal`` at 60 significant digits (see ``time_decay_shares``).

docs/metrics.md holds the product's wording of the same rules: #cohort (docs/metrics.md#cohort),
#attribution (docs/metrics.md#attribution), #trend (docs/metrics.md#trend), #breakdown (docs/metrics.md#breakdown).

Inputs (plain dicts; datetimes are naive and mean UTC):
- a session: session_id, user_id, started_at, exited_at (or None), landing_page, source,
  medium, campaign, content, term (the EFFECTIVE values of docs/data.md#source-and-medium, None when absent) and,
  only when a channel_group filter or the channel_group breakdown is used, channel_group.
- a conversion: conversion_id, session_id, converted_at, conversion_page, meta_type,
  meta_id and, optionally, value (decimal.Decimal or int, None or missing = absent).

Conventions chosen where the definitions is silent are marked "CONVENTION n".
"""
from __future__ import annotations

import decimal
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction

NO_DATA = {"message": "No page data found for the given parameters."}
SESSION_FILTERS = ["source", "medium", "campaign", "content", "term", "landing_page",
                   "channel", "channel_group"]
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
    """docs/metrics.md#parameters, docs/metrics.md#window: a date is 00:00:00 (start) or 23:59:59.999999 (end) UTC that day;
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
    """docs/metrics.md#response durations in seconds; CONVENTION 2: exact, via integer microseconds."""
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
    """Exact mean (Fraction); None when taken over nothing (docs/metrics.md#response)."""
    if not values:
        return None
    return Fraction(sum(values), len(values))


def median(values):
    """Exact median; an even count gives the mean of the two middle values (docs/metrics.md#response)."""
    if not values:
        return None
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2 == 1:
        return Fraction(ordered[mid])
    return Fraction(ordered[mid - 1] + ordered[mid], 2)


def pct(a, b):
    """docs/metrics.md#response / CONVENTION 4: "NN.NN%", "0.00%" when b == 0."""
    if b == 0:
        return "0.00%"
    n = half_up(Fraction(100 * a, b), 2)
    return f"{n // 100}.{n % 100:02d}%"


def channel_of(session):
    """docs/data.md#source-and-medium: the channel is medium + "/" + source."""
    return session["medium"] + "/" + session["source"]


def session_value(session, name):
    """A session's value for a session filter (docs/metrics.md#parameters) or a breakdown dimension (docs/metrics.md#breakdown):
    `channel` is computed (docs/data.md#source-and-medium), every other name is a field of the session dict
    (`channel_group` is an input field, docs/data.md#channel-groups)."""
    if name == "channel":
        return channel_of(session)
    return session[name]


# ---------------------------------------------------------------- the cohort (docs/metrics.md#parameters)
@dataclass
class Cohort:
    """Everything docs/metrics.md#cohort selects, shared by every answer (docs/metrics.md#cohort)."""
    by_id: dict             # session_id -> session
    conv_of: dict           # session_id -> its conversions
    timeline: dict          # user -> their sessions in timeline order (docs/metrics.md#roles)
    position: dict          # session_id -> index in its user's timeline
    first_conv_index: dict  # user -> index of first_converting_session(u) (only users who converted)
    start: datetime         # the window, inclusive both ends (docs/metrics.md#window)
    end: datetime
    matching: list          # S
    U: set
    J: list
    C: set

    def roles(self, s):
        """docs/metrics.md#roles of a session, by its position on the user's full timeline
        (docs/metrics.md#roles)."""
        u, i = s["user_id"], self.position[s["session_id"]]
        held = set()
        if i == 0:
            held.add("first")                       # the user's first session
        if self.conv_of[s["session_id"]]:
            held.add("converting")                  # at least one conversion
        if u in self.first_conv_index:              # only users who converted have assists / afters
            k = self.first_conv_index[u]
            if 0 < i < k:
                held.add("assist")                  # strictly after first, strictly before first converting
            if i > k:
                held.add("after")                   # strictly after the first converting session
        return held

    def conversions_of_user(self, u):
        """Every conversion of u, in any of u's sessions (docs/data.md#conversions: a conversion's user is its session's user)."""
        return [c for s in self.timeline[u] for c in self.conv_of[s["session_id"]]]

    def first_conversion_at(self, u):
        """docs/metrics.md#response: the earliest converted_at of u (over ALL of u's conversions)."""
        return min(c["converted_at"] for c in self.conversions_of_user(u))


def window(params):
    """docs/metrics.md#window (defaults: end = now UTC, start = end - 30 days), inclusive both ends
    (docs/metrics.md#window)."""
    end = parse_bound(params["end_date"], True) if given(params, "end_date") \
        else datetime.now(timezone.utc).replace(tzinfo=None)
    start = parse_bound(params["start_date"], False) if given(params, "start_date") \
        else end - timedelta(days=30)
    return start, end


def select_cohort(sessions: list[dict], conversions: list[dict], params: dict) -> Cohort:
    """docs/metrics.md#cohort: matching sessions S, cohort U, journey set J and converted users C."""
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

    # docs/metrics.md#roles, by position in the timeline.
    position = {}           # session_id -> index in its user's timeline
    first_conv_index = {}   # user -> index of first_converting_session(u) (only users who converted)
    for u, tl in timeline.items():
        for i, s in enumerate(tl):
            position[s["session_id"]] = i
            if conv_of[s["session_id"]] and u not in first_conv_index:
                first_conv_index[u] = i

    start, end = window(params)
    cohort = Cohort(by_id, conv_of, timeline, position, first_conv_index, start, end, [], set(), [], set())
    scope = params.get("touch_scope") if given(params, "touch_scope") else "any"

    # docs/metrics.md#cohort matching sessions S.
    matching = []
    for s in sessions:
        if not (start <= s["started_at"] <= end):           # docs/metrics.md#window: window on started_at
            continue
        # docs/metrics.md#parameters / CONVENTION 9: exact, case-sensitive; None never matches a given filter.
        # channel is medium/source (docs/data.md#source-and-medium), channel_group the session's stored group (docs/data.md#channel-groups).
        if any(given(params, f) and session_value(s, f) != params[f] for f in SESSION_FILTERS):
            continue
        # docs/metrics.md#conversion-filters: ONE conversion of the session must satisfy all given conversion filters.
        active = [f for f in CONVERSION_FILTERS if given(params, f)]
        if active and not any(all(c[f] == params[f] for f in active)
                              for c in conv_of[s["session_id"]]):
            continue
        if scope != "any" and scope not in cohort.roles(s):  # docs/metrics.md#roles touch_scope
            continue
        matching.append(s)

    # docs/metrics.md#cohort U and journey J; docs/metrics.md#response: C = cohort users with >= 1 conversion.
    cohort.matching = matching
    cohort.U = {s["user_id"] for s in matching}
    cohort.J = [s for u in cohort.U for s in timeline[u]]
    cohort.C = {u for u in cohort.U if u in first_conv_index}
    return cohort


# ---------------------------------------------------------------- insights (docs/metrics.md#response)
def reference_insights(sessions: list[dict], conversions: list[dict], params: dict) -> dict:
    cohort = select_cohort(sessions, conversions, params)
    U, J, C, matching = cohort.U, cohort.J, cohort.C, cohort.matching
    timeline, conv_of, roles = cohort.timeline, cohort.conv_of, cohort.roles
    position, first_conv_index = cohort.position, cohort.first_conv_index
    if not U:
        return dict(NO_DATA)
    # docs/metrics.md#user-summary user_summary.
    sessions_of_C = sum(len(timeline[u]) for u in C)
    user_summary = {
        "total_users": len(U),
        "total_converted_users": len(C),
        "conversion_rate": pct(len(C), len(U)),
        "avg_sessions_per_user": round1(Fraction(len(J), len(U))),
        "avg_sessions_per_converted_user": round1(Fraction(sessions_of_C, len(C)) if C else None),
    }

    # docs/metrics.md#session-summary session_summary, over S only.
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

    # docs/metrics.md#conversion-summary conversion_summary, over C.
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


# ---------------------------------------------------------------- attribution (docs/metrics.md#attribution)
MODELS = ["first_touch", "last_touch", "last_non_direct", "linear",
          "position_based", "time_decay", "data_driven"]           # docs/metrics.md#attribution-response: in the order of 6.3
PATH_LENGTH_KEYS = ["1", "2", "3", "4", "5+"]
DIRECT = "(none)/(direct)"                                         # docs/metrics.md#attributed-conversions
START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"       # docs/metrics.md#attribution-models chain states; a channel
#                                                                    always holds "/", these never do
DAY_US = 86_400 * 1_000_000
DECIMAL_DIGITS = 60      # CONVENTION 10: precision of the time-decay weights
NEGLIGIBLE_EXPONENT = 400  # CONVENTION 10: 2^-400 < 1e-120 counts as 0 against the converting session's 1


def micros(delta):
    """A timedelta as whole microseconds (CONVENTION 2)."""
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def exact_number(value):
    """CONVENTION 11: a parameter or conversion value as an exact Fraction; a float is taken as
    the decimal it prints as (0.1 is 1/10), a Decimal or int exactly."""
    if isinstance(value, float):
        return Fraction(repr(value))
    return Fraction(value)


def conversion_value(c):
    """docs/data.md#conversions, docs/metrics.md#attributed-conversions: a conversion's value, 0 when absent (docs/metrics.md#attributed-conversions)."""
    value = c.get("value")
    return Fraction(0) if value is None else exact_number(value)


def attribution_params(params):
    """docs/metrics.md#attribution-parameters parameters with their defaults; null and "" mean "not given" (docs/metrics.md#parameters).
    The reference assumes valid values (parsing is tested elsewhere)."""
    lookback_days = int(params["lookback_days"]) if given(params, "lookback_days") else 90
    half_life_days = exact_number(params["half_life_days"]) if given(params, "half_life_days") else Fraction(7)
    which = params["conversions"] if given(params, "conversions") else "first"
    top_paths = int(params["top_paths"]) if given(params, "top_paths") else 10
    assert which in ("first", "all"), which
    return lookback_days, half_life_days, which, top_paths


def attributed_conversions(cohort, which):
    """docs/metrics.md#attributed-conversions (docs/metrics.md#attributed-conversions): `first`: one conversion per user u in
    C, u's earliest conversion (ties: the smallest conversion_id). `all`: every conversion of
    every user in C.

    CONVENTION 14: read literally, the window and the conversion filters (docs/metrics.md#conversion-filters) select the
    cohort only; they never select which of a user's conversions are attributed.  So `first`
    is u's earliest conversion ever, even when it lies outside the window or fails a
    meta_type filter, and `all` takes every conversion of u at any time."""
    chosen = []
    for u in sorted(cohort.C):
        mine = cohort.conversions_of_user(u)
        if which == "first":
            chosen.append(min(mine, key=lambda c: (c["converted_at"], c["conversion_id"])))
        else:
            chosen.extend(mine)
    # Only for a stable, readable order; no answer depends on it.
    chosen.sort(key=lambda c: (c["converted_at"], c["conversion_id"]))
    return chosen


def touchpoints_of(cohort, conversion, lookback_days):
    """docs/metrics.md#attributed-conversions (docs/metrics.md#touchpoints, #lookback): u's sessions, in timeline order, from the
    first up to and including s_k, that started at or after t_k - lookback_days * 86 400 s;
    s_k itself is always a touchpoint."""
    s_k = cohort.by_id[conversion["session_id"]]
    t_k = conversion["converted_at"]
    earliest = t_k - timedelta(days=lookback_days)       # lookback_days * 86 400 s, exactly
    tl = cohort.timeline[s_k["user_id"]]
    k = cohort.position[s_k["session_id"]]
    return [s for i, s in enumerate(tl[:k + 1]) if s["started_at"] >= earliest or i == k]


def position_based_shares(n):
    """docs/metrics.md#attribution-models: n = 1: 1; n = 2: 1/2 each; n >= 3: 2/5 first, 2/5 last, 1/(5(n-2)) to each other."""
    if n == 1:
        return [Fraction(1)]
    if n == 2:
        return [Fraction(1, 2), Fraction(1, 2)]
    middle = Fraction(1, 5 * (n - 2))
    return [Fraction(2, 5)] + [middle] * (n - 2) + [Fraction(2, 5)]


def time_decay_shares(touchpoints, half_life_days):
    """docs/metrics.md#attribution-models time_decay: touchpoint i weighs 2^(-(t_k - started_at_i) / (half_life_days * 86 400 s));
    the weights are divided by their sum.  Returns (shares as Fractions, exact?).

    CONVENTION 10 (how the irrational weights are computed; the result is the definitions'):
    every weight is divided by the converting session's weight first, which changes no share
    (w_i / sum(w) = r_i / sum(r) with r_i = w_i / w_n = 2^(-(started_n - started_i) / h)).
    The converting session started last, so r_n = 1 >= every r_i, and nothing underflows.
    An r_i with a whole exponent e <= NEGLIGIBLE_EXPONENT is the exact Fraction 1/2^e; any other
    r_i is 2^(-e) computed with `decimal` at 60 significant digits (relative error ~1e-59), and
    an r_i with e > NEGLIGIBLE_EXPONENT (< 1e-120) counts as 0.  Such shares are flagged inexact:
    their error is far below 1e-50, so only a value within ~1e-50 of a rounding boundary could
    round differently from the definitions' exact value."""
    h_us = half_life_days * DAY_US                              # exact Fraction of microseconds
    started_n = touchpoints[-1]["started_at"]
    ratios, exact = [], True
    context = decimal.Context(prec=DECIMAL_DIGITS, rounding=decimal.ROUND_HALF_EVEN,
                              Emin=decimal.MIN_EMIN, Emax=decimal.MAX_EMAX)
    for s in touchpoints:
        e = Fraction(micros(started_n - s["started_at"])) / h_us  # >= 0: timeline order
        if e.denominator == 1 and e <= NEGLIGIBLE_EXPONENT:
            ratios.append(Fraction(1, 2 ** int(e)))
        elif e > NEGLIGIBLE_EXPONENT:
            ratios.append(Fraction(0))
            exact = False
        else:
            e_dec = context.divide(decimal.Decimal(e.numerator), decimal.Decimal(e.denominator))
            ratios.append(Fraction(context.power(decimal.Decimal(2), -e_dec)))
            exact = False
    total = sum(ratios)                                          # >= 1 (r_n = 1)
    return [r / total for r in ratios], exact


def solve_linear(matrix, rhs):
    """Exact Gauss-Jordan elimination over Fractions: the x with matrix . x = rhs.
    (The absorption systems below are always non-singular: every state of the chain leads to
    an end state, because every path ends in (conversion) or (null).)"""
    n = len(rhs)
    a = [list(row) + [rhs[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = next(r for r in range(col, n) if a[r][col] != 0)
        a[col], a[pivot] = a[pivot], a[col]
        p = a[col][col]
        a[col] = [x / p for x in a[col]]
        for r in range(n):
            if r != col and a[r][col] != 0:
                f = a[r][col]
                a[r] = [x - f * y for x, y in zip(a[r], a[col])]
    return [a[i][n] for i in range(n)]


def conversion_probability(steps, channels, removed=None):
    """docs/metrics.md#attribution-models data_driven (docs/metrics.md#data-driven): P = the probability of absorption in
    (conversion) from (start), solved exactly.  p(a->b) = (steps a->b) / (steps out of a).
    With `removed` = c: every transition into c goes to (null) instead (P_-c).
    x_(conversion) = 1, x_(null) = 0, x_a = sum_b p(a->b) x_b over the other states."""
    states = [START] + [c for c in channels if c != removed]   # removed c is unreachable: dropped
    index = {state: i for i, state in enumerate(states)}
    matrix = [[Fraction(0)] * len(states) for _ in states]
    rhs = [Fraction(0)] * len(states)
    for a in states:
        i = index[a]
        matrix[i][i] += 1
        out = steps.get(a, {})
        total = sum(out.values())
        for b, count in out.items():
            p = Fraction(count, total)
            if b == removed or b == NULL:
                continue                                       # into (null): x = 0
            if b == CONVERSION:
                rhs[i] += p                                    # into (conversion): x = 1
            else:
                matrix[i][index[b]] -= p
    return solve_linear(matrix, rhs)[index[START]]


def reference_attribution_exact(sessions: list[dict], conversions: list[dict], params: dict) -> dict:
    """docs/metrics.md#attribution before any rounding.  Returns NO_DATA when U is empty, else a dict:
    conversions N (int), value V (Fraction), channels {channel: {"conversions": {model: x},
    "value": {model: x}}} in the answer's order (x a Fraction; data_driven may be None),
    paths [(path tuple, count, value Fraction)] in the answer's order (all of them, before
    top_paths), path_lengths, touchpoints {conversion_id: [session_id, ...]}, markov
    {"P": ..., "P_without": {c: ...}, "RE": {c: ...}} (None when N = 0) and exact (False when
    a time_decay number is a 60-digit approximation, CONVENTION 10)."""
    cohort = select_cohort(sessions, conversions, params)
    if not cohort.U:                                           # docs/metrics.md#attribution-response: U empty -> the 3.4 message
        return dict(NO_DATA)
    lookback_days, half_life_days, which, _ = attribution_params(params)

    attributed = attributed_conversions(cohort, which)
    N = len(attributed)
    V = sum((conversion_value(c) for c in attributed), Fraction(0))

    # docs/metrics.md#attribution-models: each model splits one unit of credit per conversion over its touchpoints; a
    # channel's conversion credit sums its touchpoints' credits, its value credit credit x value.
    credit = {}                # channel -> model -> {"conversions": Fraction, "value": Fraction}
    def add(channel, model, share, value):
        cell = credit.setdefault(channel, {m: [Fraction(0), Fraction(0)] for m in MODELS[:-1]})[model]
        cell[0] += share
        cell[1] += share * value

    paths = {}                 # collapsed path -> [count, value]
    path_lengths = {key: 0 for key in PATH_LENGTH_KEYS}
    converting_paths, touchpoints = [], {}
    exact = True
    for c in attributed:
        tps = touchpoints_of(cohort, c, lookback_days)
        touchpoints[c["conversion_id"]] = [s["session_id"] for s in tps]
        chs = [channel_of(s) for s in tps]
        n = len(tps)
        value = conversion_value(c)

        add(chs[0], "first_touch", Fraction(1), value)          # 1 to the first touchpoint
        add(chs[-1], "last_touch", Fraction(1), value)          # 1 to the last (s_k)
        non_direct = [ch for ch in chs if ch != DIRECT]          # the last that is not direct,
        add(non_direct[-1] if non_direct else chs[-1], "last_non_direct", Fraction(1), value)  # else s_k
        for ch in chs:
            add(ch, "linear", Fraction(1, n), value)            # 1/n to each
        for ch, share in zip(chs, position_based_shares(n)):
            add(ch, "position_based", share, value)
        shares, shares_exact = time_decay_shares(tps, half_life_days)
        exact = exact and shares_exact
        for ch, share in zip(chs, shares):
            add(ch, "time_decay", share, value)

        # docs/metrics.md#attribution-response paths: consecutive repeats collapsed into one; grouped.
        collapsed = tuple(ch for i, ch in enumerate(chs) if i == 0 or ch != chs[i - 1])
        group = paths.setdefault(collapsed, [0, Fraction(0)])
        group[0] += 1
        group[1] += value
        # docs/metrics.md#attribution-response path_lengths: by n, not collapsed.
        path_lengths[str(n) if n <= 4 else "5+"] += 1
        # docs/metrics.md#attribution-models data_driven path: (start) -> ch(tp_1) -> ... -> ch(tp_n) -> (conversion)
        converting_paths.append([START] + chs + [CONVERSION])

    if N == 0:                 # docs/metrics.md#attribution-response: no attributed conversion -> the zero answer
        return {"conversions": 0, "value": Fraction(0), "channels": {}, "paths": [],
                "path_lengths": path_lengths, "touchpoints": {}, "markov": None, "exact": True}

    # docs/metrics.md#attribution-models data_driven paths of the users of U \ C: (start) -> the channels of their sessions
    # (timeline order) that started at or after (their last session's started_at - lookback_days)
    # -> (null).  CONVENTION 12: "lookback_days" there means lookback_days * 86 400 s, as in 6.1.
    null_paths = []
    for u in sorted(cohort.U - cohort.C):
        tl = cohort.timeline[u]
        earliest = tl[-1]["started_at"] - timedelta(days=lookback_days)
        null_paths.append([START] + [channel_of(s) for s in tl if s["started_at"] >= earliest] + [NULL])

    # Transition counts over all paths; a repeat such as A->A counts like any other.
    steps = {}
    for path in converting_paths + null_paths:
        for a, b in zip(path, path[1:]):
            steps.setdefault(a, {})
            steps[a][b] = steps[a].get(b, 0) + 1
    chain = sorted({ch for path in converting_paths + null_paths for ch in path[1:-1]})

    P = conversion_probability(steps, chain)
    P_without = {ch: conversion_probability(steps, chain, removed=ch) for ch in chain}
    RE = {ch: (1 - P_without[ch] / P) if P != 0 else None for ch in chain}   # RE(c) = 1 - P_-c / P
    sum_RE = sum(RE.values()) if P != 0 else Fraction(0)
    defined = P != 0 and sum_RE != 0                          # else every data_driven credit is null

    # docs/metrics.md#attribution-response channels: every channel of the data_driven chain (rule-based credits 0 when only
    # on non-converting paths), ordered by unrounded linear conversion credit desc, channel asc.
    channels = {}
    zero = {m: [Fraction(0), Fraction(0)] for m in MODELS[:-1]}
    # (channel ascending = code-point order, Python's str order.)
    for ch in sorted(chain, key=lambda ch: (-credit.get(ch, zero)["linear"][0], ch)):
        cells = credit.get(ch, zero)
        conv_credit = {m: cells[m][0] for m in MODELS[:-1]}
        value_credit = {m: cells[m][1] for m in MODELS[:-1]}
        conv_credit["data_driven"] = N * RE[ch] / sum_RE if defined else None   # N * RE(c) / sum RE
        value_credit["data_driven"] = V * RE[ch] / sum_RE if defined else None  # V * RE(c) / sum RE
        channels[ch] = {"conversions": conv_credit, "value": value_credit}

    # docs/metrics.md#attribution-response paths: conversions desc, value desc, then the path joined with " > " ascending.
    # CONVENTION 13: "value desc" compares the exact (unrounded) summed values; the joined
    # path compares by code point.
    ordered_paths = sorted(((path, count, value) for path, (count, value) in paths.items()),
                           key=lambda p: (-p[1], -p[2], " > ".join(p[0])))
    return {"conversions": N, "value": V, "channels": channels, "paths": ordered_paths,
            "path_lengths": path_lengths, "touchpoints": touchpoints,
            "markov": {"P": P, "P_without": P_without, "RE": RE}, "exact": exact}


def round2(value):
    """docs/metrics.md#attribution-response: a number rounded half up to 2 decimals (after summing); None stays None."""
    if value is None:
        return None
    return float(Fraction(half_up(value, 2), 100))


def reference_attribution(sessions: list[dict], conversions: list[dict], params: dict) -> dict:
    """docs/metrics.md#attribution-response answer: the exact model above, rounded at the very end."""
    exact = reference_attribution_exact(sessions, conversions, params)
    if exact == NO_DATA:
        return dict(NO_DATA)
    top_paths = attribution_params(params)[3]
    return {"attribution": {
        "conversions": exact["conversions"],
        "value": round2(exact["value"]),
        "channels": [
            {"channel": ch,
             "conversions": {m: round2(cells["conversions"][m]) for m in MODELS},
             "value": {m: round2(cells["value"][m]) for m in MODELS}}
            for ch, cells in exact["channels"].items()],
        "paths": [{"path": list(path), "conversions": count, "value": round2(value)}
                  for path, count, value in exact["paths"][:top_paths]],
        "path_lengths": dict(exact["path_lengths"]),
    }}


def near_rounding_boundary(value, decimals=2, tolerance=Fraction(1, 10 ** 9)):
    """True when an exact value lies within `tolerance` of a rounding boundary (k + 1/2) / 10**decimals;
    only there may an implementation's floating-point sum round to the other neighbour."""
    if value is None:
        return False
    scaled = Fraction(value) * 10 ** decimals
    distance = abs(scaled - (scaled.numerator // scaled.denominator) - Fraction(1, 2))
    return distance <= tolerance * 10 ** decimals


# ---------------------------------------------------------------- trend (docs/metrics.md#trend)
MAX_BUCKETS = 3_700


def period_start(day, interval):
    """docs/metrics.md#trend: the first day of the UTC calendar period holding `day` (ISO weeks from Monday)."""
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())             # Monday = weekday 0
    if interval == "month":
        return day.replace(day=1)
    raise ValueError(f"interval: unknown interval {interval!r}")


def next_period(first_day, interval):
    """The first day of the period after the one starting on `first_day`."""
    if interval == "day":
        return first_day + timedelta(days=1)
    if interval == "week":
        return first_day + timedelta(days=7)
    if first_day.month == 12:
        return date(first_day.year + 1, 1, 1)
    return date(first_day.year, first_day.month + 1, 1)


def reference_timeseries(sessions: list[dict], conversions: list[dict], params: dict) -> dict:
    """docs/metrics.md#trend (docs/metrics.md#trend).  Raises ValueError naming `interval` past 3,700 buckets."""
    interval = params["interval"] if given(params, "interval") else "day"
    cohort = select_cohort(sessions, conversions, params)
    start, end = cohort.start, cohort.end

    # One bucket per period that overlaps the window, oldest first, empty ones included:
    # from the period holding the window's start to the period holding its end.
    # CONVENTION 16: a period is [its first day 00:00, the next period's first day 00:00) UTC
    # and overlaps the window when it holds at least one instant of it (both window ends
    # included): an end_date of 2025-02-01T00:00:00Z gives February a bucket.
    first = period_start(start.date(), interval)
    last = period_start(end.date(), interval)
    if interval == "day":
        count = (last - first).days + 1
    elif interval == "week":
        count = (last - first).days // 7 + 1
    else:
        count = (last.year - first.year) * 12 + last.month - first.month + 1
    if count > MAX_BUCKETS:                                   # docs/metrics.md#trend: more than 3,700 buckets is a 400
        raise ValueError(f"interval: {interval} gives {count} buckets, more than {MAX_BUCKETS}")

    # first_conversion_at of every user in C (docs/metrics.md#response), for converted_users.
    first_conversion = {u: cohort.first_conversion_at(u) for u in cohort.C}
    buckets = []
    day = first
    while day <= last:
        following = next_period(day, interval)
        low = datetime(day.year, day.month, day.day)
        high = datetime(following.year, following.month, following.day)
        # sessions of S that started in the bucket (S is already inside the window)
        in_bucket = [s for s in cohort.matching if low <= s["started_at"] < high]
        buckets.append({
            "start": day.isoformat(),                            # the period's first day, also when
            "sessions": len(in_bucket),                          # the window starts later
            "users": len({s["user_id"] for s in in_bucket}),
            "converting_sessions": sum(1 for s in in_bucket if cohort.conv_of[s["session_id"]]),
            # users in C whose first_conversion_at lies in the bucket and in the window
            # (CONVENTION 17: the window's two ends included, as for started_at in docs/metrics.md#window)
            "converted_users": sum(1 for at in first_conversion.values()
                                   if low <= at < high and start <= at <= end),
        })
        day = following
    # U empty: S and C are empty, so every count above is 0 (no message).
    return {"timeseries": {"interval": interval, "buckets": buckets}}


# ---------------------------------------------------------------- breakdown (docs/metrics.md#breakdown)
DIMENSIONS = ["channel", "channel_group", "source", "medium", "campaign", "content", "term", "landing_page"]


def reference_breakdown(sessions: list[dict], conversions: list[dict], params: dict) -> dict:
    """docs/metrics.md#breakdown (docs/metrics.md#breakdown): the matching sessions S grouped by the session's value
    of `dimension` (null is a row of its own)."""
    dimension = params.get("dimension")
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension: must be one of {', '.join(DIMENSIONS)}, got {dimension!r}")
    limit = int(params["limit"]) if given(params, "limit") else 100
    cohort = select_cohort(sessions, conversions, params)
    if not cohort.U:
        return {"breakdown": {"dimension": dimension, "rows": []}}     # U empty: rows []

    groups = {}                                              # value (None = null) -> its sessions of S
    for s in cohort.matching:
        groups.setdefault(session_value(s, dimension), []).append(s)
    rows = []
    for value, group in groups.items():
        users = {s["user_id"] for s in group}
        converted = users & cohort.C                          # users in C with a session of S having it
        rows.append({
            "value": value,
            "sessions": len(group),
            "users": len(users),
            "converting_sessions": sum(1 for s in group if cohort.conv_of[s["session_id"]]),
            "converted_users": len(converted),
            "conversion_rate": pct(len(converted), len(users)),
        })
    # sessions desc, then value ascending with null last; the first `limit`.
    # CONVENTION 15: "null last" orders the null row after the other rows with the same session
    # count (it is part of the value order, not a global last place); values compare by code
    # point (Python str order), and "" is a value of its own, not null.
    rows.sort(key=lambda r: (-r["sessions"], r["value"] is None, r["value"] or ""))
    return {"breakdown": {"dimension": dimension, "rows": rows[:limit]}}
