"""Hand-computed examples for the reference model (tests/reference.py).

Every expected number below was derived by hand from docs/metrics.md (and the product
conventions stated in reference.py); the derivation is in the comments.
"""
from datetime import datetime, timedelta
from decimal import Decimal

from reference import reference_insights

NO_DATA = {"message": "No page data found for the given parameters."}
JULY = {"start_date": "2025-07-01", "end_date": "2025-07-31"}


def t(text):
    return datetime.fromisoformat(text)


def sess(sid, uid, start, exit=None, medium="(none)", source="(direct)",
         campaign=None, content=None, term=None, landing_page=None, channel_group=None):
    started = t(start)
    return {"session_id": sid, "user_id": uid, "started_at": started,
            "exited_at": None if exit is None else started + timedelta(seconds=exit),
            "landing_page": landing_page, "source": source, "medium": medium,
            "campaign": campaign, "content": content, "term": term, "channel_group": channel_group}


def conv(cid, sid, at, page=None, meta_type=None, meta_id=None, value=None):
    return {"conversion_id": cid, "session_id": sid, "converted_at": t(at),
            "conversion_page": page, "meta_type": meta_type, "meta_id": meta_id,
            "value": None if value is None else Decimal(value)}


# ------------------------------------------------------------------ journeys
# user a: a1 first (organic/google) -> a2 assist (social/facebook) ->
#         a3 first converting (cpc/google) -> a4 after (email/newsletter, no exited_at)
# user b: b1 first AND converting (organic/google, two conversions in it) ->
#         b2 converting AND after (cpc/google)
# user c: c1 only, never converts ((none)/(direct))
SESSIONS = [
    sess("a1", "a", "2025-07-01 10:00:00", 300, "organic", "google.com"),
    sess("a2", "a", "2025-07-02 10:00:00", 120, "social", "facebook.com"),
    sess("a3", "a", "2025-07-03 10:00:00", 600, "cpc", "google.com"),
    sess("a4", "a", "2025-07-04 10:00:00", None, "email", "newsletter"),
    sess("b1", "b", "2025-07-02 12:00:00", 180, "organic", "google.com"),
    sess("b2", "b", "2025-07-05 08:00:00", 30, "cpc", "google.com"),
    sess("c1", "c", "2025-07-03 09:00:00", 20),
]
CONVERSIONS = [
    conv("x1", "a3", "2025-07-03 10:01:30"),   # 90 s into a3
    conv("x2", "b1", "2025-07-02 12:02:00"),   # 120 s into b1 (not the earliest)
    conv("x3", "b1", "2025-07-02 12:00:40"),   # 40 s into b1 (earliest -> duration 40)
    conv("x4", "b2", "2025-07-05 08:00:10"),   # 10 s into b2
]


def test_full_journey_any_scope():
    got = reference_insights(SESSIONS, CONVERSIONS, dict(JULY))
    m = got["overall_metrics"]
    assert list(got) == ["overall_metrics"]
    assert list(m) == ["user_summary", "session_summary", "conversion_summary", "channels"]
    # 4.1: U={a,b,c}, C={a,b}, |J|=7; 2/3 = 66.666..% -> 66.67%; 7/3 = 2.33 -> 2.3;
    # sessions of C = 4 + 2 = 6, 6/2 = 3.0
    assert m["user_summary"] == {
        "total_users": 3, "total_converted_users": 2, "conversion_rate": "66.67%",
        "avg_sessions_per_user": 2.3, "avg_sessions_per_converted_user": 3.0}
    # 4.2: S = all 7 sessions. converting: a3, b1, b2. drop-off (no conversion + exited_at):
    # a1, a2, c1 (a4 has no exited_at so it is neither).
    # with exited_at: 300+120+600+180+30+20 = 1250 / 6 = 208.33 -> 208.3
    # converting: a3 90, b1 40 (earliest conversion), b2 10 -> 140/3 = 46.67 -> 46.7; median 40
    # drop-off: 300, 120, 20 -> 440/3 = 146.67 -> 146.7; median 120
    assert m["session_summary"] == {
        "total_sessions": 7, "total_converting_sessions": 3, "total_drop_off_sessions": 3,
        "avg_session_duration_seconds": 208.3, "avg_converting_session_duration": 46.7,
        "avg_drop_off_session_duration": 146.7, "median_converting_session_duration": 40.0,
        "median_drop_off_session_duration": 120.0}
    # 4.3: a: 07-03 10:01:30 - 07-01 10:00:00 = 2 d + 90 s = 172890 s (bin 1-3 days)
    #      b: 07-02 12:00:40 - 07-02 12:00:00 = 40 s (bin 0-1 days)
    # mean = median (even count of 2) = (172890 + 40) / 2 = 86465.0
    assert m["conversion_summary"] == {
        "avg_time_to_convert": 86465.0, "median_time_to_convert": 86465.0,
        "conversion_timeline_bins": {
            "counts": {"0-1 days": 1, "1-3 days": 1, "3-7 days": 0, "7+ days": 0},
            "percentages": {"0-1 days": 50.0, "1-3 days": 50.0, "3-7 days": 0.0, "7+ days": 0.0}}}
    # 4.4 over J (7 sessions): 2/7 = 28.571% -> 28.57%, 1/7 = 14.2857% -> 14.29%
    # cpc/google.com: a3, b2; first none; converting a, b; after b (b2 after b1);
    #   attributed: a (a3 is a's first converting), not b (b2 after b1) -> 1 -> 1/2, 1/2
    # organic/google.com: a1, b1; first a, b; converting b; attributed a, b -> 2/2, 2/2
    # social/facebook.com: a2 assist for a; attributed a -> 1/2, 1/1
    # email/newsletter: a4 after for a; attributed 0
    # (none)/(direct): c1, c not in C -> all zero
    # order: sum 4 (cpc < organic), then sum 2: "(none)/(direct)" < "email/..." < "social/..."
    def ch(name, ts, tu, f, a, c, af, si, ci, at, cr):
        return {"channel": name, "total_sessions": ts, "total_users": tu,
                "converting_users_first_touch": f, "converting_users_assisting_touch": a,
                "converting_users_converting_touch": c, "converting_users_after_touch": af,
                "session_influence": si, "conversion_influence": ci,
                "attributed_to_conversion": at, "conversion_rate": cr}
    expected = [
        ch("cpc/google.com", 2, 2, 0, 0, 2, 1, "28.57%", "50.00%", 1, "50.00%"),
        ch("organic/google.com", 2, 2, 2, 0, 1, 0, "28.57%", "100.00%", 2, "100.00%"),
        ch("(none)/(direct)", 1, 1, 0, 0, 0, 0, "14.29%", "0.00%", 0, "0.00%"),
        ch("email/newsletter", 1, 1, 0, 0, 0, 1, "14.29%", "0.00%", 0, "0.00%"),
        ch("social/facebook.com", 1, 1, 0, 1, 0, 0, "14.29%", "50.00%", 1, "100.00%"),
    ]
    assert m["channels"] == expected
    assert [list(c) for c in m["channels"]] == [list(c) for c in expected]


def test_assist_scope_keeps_whole_journey():
    # Only a2 is an assist (b has no session between b1 and its first converting b1).
    # S={a2}: a drop-off of 120 s. U={a}, J = a's 4 sessions, C={a}.
    m = reference_insights(SESSIONS, CONVERSIONS, {**JULY, "touch_scope": "assist"})["overall_metrics"]
    assert m["user_summary"] == {
        "total_users": 1, "total_converted_users": 1, "conversion_rate": "100.00%",
        "avg_sessions_per_user": 4.0, "avg_sessions_per_converted_user": 4.0}
    assert m["session_summary"] == {
        "total_sessions": 1, "total_converting_sessions": 0, "total_drop_off_sessions": 1,
        "avg_session_duration_seconds": 120.0, "avg_converting_session_duration": None,
        "avg_drop_off_session_duration": 120.0, "median_converting_session_duration": None,
        "median_drop_off_session_duration": 120.0}
    # time_to_convert(a) = 172890 s
    assert m["conversion_summary"]["avg_time_to_convert"] == 172890.0
    assert len(m["channels"]) == 4  # organic, social, cpc, email for a's journey


def test_after_and_converting_scopes():
    # after: a4 (after a3) and b2 (after b1). a4 has no exited_at.
    # S={a4, b2}: converting b2 (10 s), no drop-offs; with exited_at only b2 (30 s).
    m = reference_insights(SESSIONS, CONVERSIONS, {**JULY, "touch_scope": "after"})["overall_metrics"]
    assert m["user_summary"]["total_users"] == 2
    assert m["session_summary"] == {
        "total_sessions": 2, "total_converting_sessions": 1, "total_drop_off_sessions": 0,
        "avg_session_duration_seconds": 30.0, "avg_converting_session_duration": 10.0,
        "avg_drop_off_session_duration": None, "median_converting_session_duration": 10.0,
        "median_drop_off_session_duration": None}
    # converting: a3, b1, b2 -> U={a,b}
    m = reference_insights(SESSIONS, CONVERSIONS, {**JULY, "touch_scope": "converting"})["overall_metrics"]
    assert m["session_summary"]["total_sessions"] == 3
    assert m["user_summary"]["total_users"] == 2


def test_first_role_uses_full_timeline_not_window():
    # Window from 07-02: a1 is outside; a2 is the first of a's sessions IN the window
    # but not a's first session, so it does not hold "first". first sessions inside: b1, c1.
    params = {"start_date": "2025-07-02", "end_date": "2025-07-31", "touch_scope": "first"}
    m = reference_insights(SESSIONS, CONVERSIONS, params)["overall_metrics"]
    assert m["user_summary"]["total_users"] == 2          # b, c
    assert m["session_summary"]["total_sessions"] == 2    # b1, c1
    # J = b1, b2, c1 (3 sessions), a is absent
    assert sum(c["total_sessions"] for c in m["channels"]) == 3


def test_session_filters_exact_and_none_never_matches():
    # source "google.com" matches a1, a3, b1, b2 (case-sensitive); "Google.com" nothing.
    m = reference_insights(SESSIONS, CONVERSIONS, {**JULY, "source": "google.com"})["overall_metrics"]
    assert m["session_summary"]["total_sessions"] == 4
    assert reference_insights(SESSIONS, CONVERSIONS, {**JULY, "source": "Google.com"}) == NO_DATA
    # every campaign is None -> a given campaign filter matches nothing; "" means not given
    assert reference_insights(SESSIONS, CONVERSIONS, {**JULY, "campaign": "x"}) == NO_DATA
    m = reference_insights(SESSIONS, CONVERSIONS, {**JULY, "campaign": "", "medium": None})
    assert m["overall_metrics"]["session_summary"]["total_sessions"] == 7


def test_tie_in_started_at_broken_by_session_id_string_order():
    # Same started_at; plain string order puts "s10" before "s9", so s10 is first,
    # s9 (converting) is the first converting session, and there is no assist.
    sessions = [sess("s9", "u", "2025-07-10 00:00:00", 60, "cpc", "google.com"),
                sess("s10", "u", "2025-07-10 00:00:00", 5)]
    conversions = [conv("k", "s9", "2025-07-10 00:00:30")]
    m = reference_insights(sessions, conversions, {**JULY, "touch_scope": "first"})["overall_metrics"]
    # S={s10}: drop-off of 5 s
    assert m["session_summary"]["total_sessions"] == 1
    assert m["session_summary"]["total_drop_off_sessions"] == 1
    assert m["session_summary"]["avg_drop_off_session_duration"] == 5.0
    # first touch on (none)/(direct), converting touch on cpc/google.com; both attributed
    # (s10 at position 0 and s9 at position 1 <= position of first converting session)
    by = {c["channel"]: c for c in m["channels"]}
    assert by["(none)/(direct)"]["converting_users_first_touch"] == 1
    assert by["cpc/google.com"]["converting_users_first_touch"] == 0
    assert by["cpc/google.com"]["converting_users_converting_touch"] == 1
    assert by["(none)/(direct)"]["attributed_to_conversion"] == 1
    # both channels: 1 session + 1 user -> tie on 2, channel ascending: "(" < "c"
    assert [c["channel"] for c in m["channels"]] == ["(none)/(direct)", "cpc/google.com"]
    # time to convert: 00:00:30 - 00:00:00 = 30 s
    assert m["conversion_summary"]["median_time_to_convert"] == 30.0
    assert reference_insights(sessions, conversions, {**JULY, "touch_scope": "assist"}) == NO_DATA


def test_conversion_filters_need_one_conversion_satisfying_all():
    sessions = [sess("p1", "u1", "2025-07-10 00:00:00", 100),
                sess("p2", "u2", "2025-07-11 00:00:00", 100)]
    conversions = [
        conv("c1", "p1", "2025-07-10 00:00:10", "/pricing", "hubspot_form", "f1"),
        conv("c2", "p1", "2025-07-10 00:00:20", "/contact", "custom", "f2"),
        conv("c3", "p2", "2025-07-11 00:00:50", "/pricing", None, None),
    ]
    # /pricing + hubspot_form: only c1 (p1) satisfies both
    m = reference_insights(sessions, conversions,
                           {**JULY, "conversion_page": "/pricing", "meta_type": "hubspot_form",
                            "meta_id": ""})["overall_metrics"]
    assert m["user_summary"]["total_users"] == 1
    # converting duration of p1 is the earliest conversion (c1, 10 s), not the filtered one
    assert m["session_summary"]["avg_converting_session_duration"] == 10.0
    # /pricing + custom: c1 has the page, c2 the type, but no ONE conversion has both;
    # c3 has meta_type None, which never matches.
    assert reference_insights(sessions, conversions,
                              {**JULY, "conversion_page": "/pricing", "meta_type": "custom"}) == NO_DATA
    # /pricing alone: p1 (c1) and p2 (c3)
    m = reference_insights(sessions, conversions, {**JULY, "conversion_page": "/pricing"})["overall_metrics"]
    assert m["user_summary"]["total_users"] == 2
    # converting durations 10 and 50 -> even count median (10+50)/2 = 30.0
    assert m["session_summary"]["median_converting_session_duration"] == 30.0


def test_empty_cohort():
    assert reference_insights(SESSIONS, CONVERSIONS,
                              {"start_date": "2024-01-01", "end_date": "2024-01-31"}) == NO_DATA
    assert reference_insights([], [], dict(JULY)) == NO_DATA


def test_window_bounds_dates_offsets_and_z():
    sessions = [sess("w1", "u1", "2025-07-01 00:00:00"),
                sess("w2", "u2", "2025-06-30 23:59:59.999999"),
                sess("w3", "u3", "2025-07-31 23:59:59.999999"),
                sess("w4", "u4", "2025-08-01 00:00:00")]
    def users(params):
        return reference_insights(sessions, [], params)["overall_metrics"]["user_summary"]["total_users"]
    # dates: [07-01 00:00:00, 07-31 23:59:59.999999] -> w1, w3
    assert users(dict(JULY)) == 2
    # +02:00 -> 07-01 00:00 UTC; -04:00 -> 08-01 00:00 UTC (inclusive) -> w1, w3, w4
    assert users({"start_date": "2025-07-01T02:00:00+02:00", "end_date": "2025-07-31T20:00:00-04:00"}) == 3
    # a single instant with Z and fractional seconds -> only w2
    assert users({"start_date": "2025-06-30T23:59:59.999999Z", "end_date": "2025-06-30T23:59:59.999999Z"}) == 1


def test_rounding_half_up_and_even_median():
    # four users, one drop-off each: 10 s, 20 s, 31 s, 100 s; user q4 has one more session
    # without exited_at (0.25 s is irrelevant there) -> |J| = 5, |U| = 4
    sessions = [sess("q1", "q1", "2025-07-10 00:00:00", 10),
                sess("q2", "q2", "2025-07-10 00:00:00", 20),
                sess("q3", "q3", "2025-07-10 00:00:00", 31),
                sess("q4", "q4", "2025-07-10 00:00:00", 100),
                sess("q5", "q4", "2025-07-11 00:00:00", None, "email", "news")]
    m = reference_insights(sessions, [], dict(JULY))["overall_metrics"]
    # 5/4 = 1.25 -> 1.3 (half up; Python's round() would give 1.2); C empty -> None
    assert m["user_summary"]["avg_sessions_per_user"] == 1.3
    assert m["user_summary"]["avg_sessions_per_converted_user"] is None
    assert m["user_summary"]["conversion_rate"] == "0.00%"
    # 161/4 = 40.25 -> 40.3; even median (20 + 31)/2 = 25.5
    assert m["session_summary"]["avg_drop_off_session_duration"] == 40.3
    assert m["session_summary"]["median_drop_off_session_duration"] == 25.5
    # C empty: no time-to-convert, all bins 0 and percentages 0.0
    cs = m["conversion_summary"]
    assert cs["avg_time_to_convert"] is None and cs["median_time_to_convert"] is None
    assert cs["conversion_timeline_bins"]["percentages"] == {
        "0-1 days": 0.0, "1-3 days": 0.0, "3-7 days": 0.0, "7+ days": 0.0}
    # channel conversion_influence with |C| = 0 is "0.00%"
    assert all(c["conversion_influence"] == "0.00%" for c in m["channels"])

    # sub-second: 0.25 s -> 0.3 ; mean of 0.1 s and 0.2 s = 0.15 -> 0.2 (float round gives 0.1)
    quarter = [dict(sess("r1", "r", "2025-07-10 00:00:00"),
                    exited_at=t("2025-07-10 00:00:00.250000"))]
    assert reference_insights(quarter, [], dict(JULY))["overall_metrics"][
        "session_summary"]["avg_session_duration_seconds"] == 0.3
    tenths = [dict(sess("r1", "r", "2025-07-10 00:00:00"), exited_at=t("2025-07-10 00:00:00.100000")),
              dict(sess("r2", "r", "2025-07-11 00:00:00"), exited_at=t("2025-07-11 00:00:00.200000"))]
    ss = reference_insights(tenths, [], dict(JULY))["overall_metrics"]["session_summary"]
    assert ss["avg_session_duration_seconds"] == 0.2
    assert ss["median_drop_off_session_duration"] == 0.2   # even-count median 0.15 -> 0.2


def test_pct_third_decimal_five_rounds_up():
    # one user, 32 sessions: 1 on email/news, 31 direct.
    # 1/32 = 3.125% -> "3.13%"; 31/32 = 96.875% -> "96.88%"
    sessions = [sess(f"v{i:02d}", "v", f"2025-07-{1 + i % 28:02d} 00:{i:02d}:00", 1) for i in range(31)]
    sessions.append(sess("v99", "v", "2025-07-30 00:00:00", 1, "email", "news"))
    m = reference_insights(sessions, [], dict(JULY))["overall_metrics"]
    by = {c["channel"]: c for c in m["channels"]}
    assert by["email/news"]["session_influence"] == "3.13%"
    assert by["(none)/(direct)"]["session_influence"] == "96.88%"


def test_bins_percentages_round_half_up():
    # 32 converters: z00 converts in a later session exactly 3 days (259200 s, the
    # inclusive lower bound of "3-7 days") after its first session; the 31 others
    # convert 5 s in. 100*1/32 = 3.125 -> 3.13; 100*31/32 = 96.875 -> 96.88
    sessions, conversions = [], []
    for i in range(32):
        sessions.append(sess(f"z{i:02d}", f"z{i:02d}", "2025-07-01 00:00:00", 10))
        at = "2025-07-04 00:00:00" if i == 0 else "2025-07-01 00:00:05"   # 259200 s is in 3-7 days
        if i == 0:
            sessions.append(sess("z99", "z00", "2025-07-04 00:00:00", 10))
            conversions.append(conv("cz", "z99", at))
        else:
            conversions.append(conv(f"c{i:02d}", f"z{i:02d}", at))
    bins = reference_insights(sessions, conversions, dict(JULY))["overall_metrics"][
        "conversion_summary"]["conversion_timeline_bins"]
    assert bins["counts"] == {"0-1 days": 31, "1-3 days": 0, "3-7 days": 1, "7+ days": 0}
    assert bins["percentages"] == {"0-1 days": 96.88, "1-3 days": 0.0, "3-7 days": 3.13, "7+ days": 0.0}


def test_channel_filter_matches_medium_slash_source():
    # channel cpc/google.com: a3 (a's first converting, 600 s, converts after 90 s) and b2
    # (converting and after, 30 s, converts after 10 s). S={a3, b2}, U={a, b}, C={a, b},
    # J = all 6 of their sessions: 6/2 = 3.0 sessions per user.
    m = reference_insights(SESSIONS, CONVERSIONS, {**JULY, "channel": "cpc/google.com"})["overall_metrics"]
    assert m["user_summary"] == {
        "total_users": 2, "total_converted_users": 2, "conversion_rate": "100.00%",
        "avg_sessions_per_user": 3.0, "avg_sessions_per_converted_user": 3.0}
    # durations 600 and 30 -> 315.0; converting 90 and 10 -> mean 50.0, median (even) 50.0
    assert m["session_summary"] == {
        "total_sessions": 2, "total_converting_sessions": 2, "total_drop_off_sessions": 0,
        "avg_session_duration_seconds": 315.0, "avg_converting_session_duration": 50.0,
        "avg_drop_off_session_duration": None, "median_converting_session_duration": 50.0,
        "median_drop_off_session_duration": None}
    # Exact and case-sensitive: the medium and the source alone, or another case, match nothing.
    for other in ("cpc", "google.com", "CPC/google.com", "cpc/google.com "):
        assert reference_insights(SESSIONS, CONVERSIONS, {**JULY, "channel": other}) == NO_DATA
    # Combined with the touch_scope: of the two cpc sessions only b2 is an `after` session.
    m = reference_insights(SESSIONS, CONVERSIONS, {**JULY, "channel": "cpc/google.com", "touch_scope": "after"})
    assert m["overall_metrics"]["session_summary"]["total_sessions"] == 1


def test_channel_group_filter_matches_the_stored_group():
    # Give a1 and b1 (organic/google.com) the group "Organic Search" and c1 "Direct"; the others none.
    groups = {"a1": "Organic Search", "b1": "Organic Search", "c1": "Direct"}
    sessions = [{**s, "channel_group": groups.get(s["session_id"])} for s in SESSIONS]
    # S={a1, b1}: durations 300 and 180 -> 240.0; b1 converts (earliest after 40 s); a1 is a drop-off.
    m = reference_insights(sessions, CONVERSIONS, {**JULY, "channel_group": "Organic Search"})["overall_metrics"]
    assert m["user_summary"]["total_users"] == 2
    assert m["session_summary"]["total_sessions"] == 2
    assert m["session_summary"]["total_converting_sessions"] == 1
    assert m["session_summary"]["avg_session_duration_seconds"] == 240.0
    # c1 alone: U={c}, never converts.
    m = reference_insights(sessions, CONVERSIONS, {**JULY, "channel_group": "Direct"})["overall_metrics"]
    assert m["user_summary"]["total_users"] == 1 and m["user_summary"]["total_converted_users"] == 0
    # Exact match: another case is another group; a session without a group matches no group.
    assert reference_insights(sessions, CONVERSIONS, {**JULY, "channel_group": "organic search"}) == NO_DATA
    ungrouped = [{**s, "channel_group": None} for s in SESSIONS]
    assert reference_insights(ungrouped, CONVERSIONS, {**JULY, "channel_group": "Direct"}) == NO_DATA


# ======================================================================== attribution (docs/metrics.md#attribution)
# docs/metrics.md#attribution.  Channels are written "medium/source"; chan() splits them back.
import decimal  # noqa: E402
import math  # noqa: E402  (kept next to the attribution cases that use it)
from fractions import Fraction  # noqa: E402

import pytest  # noqa: E402
from hypothesis import given, strategies as st  # noqa: E402

from reference import (  # noqa: E402
    near_rounding_boundary, reference_attribution, reference_attribution_exact,
    reference_breakdown, reference_timeseries,
)

MODELS = ["first_touch", "last_touch", "last_non_direct", "linear", "position_based", "time_decay", "data_driven"]
ZERO_LENGTHS = {"1": 0, "2": 0, "3": 0, "4": 0, "5+": 0}


def chan(sid, uid, start, channel, **kw):
    medium, source = channel.split("/", 1)
    return sess(sid, uid, start, 60, medium, source, **kw)


def journey(uid, channels, first_day=1, value=None, converts=True):
    """One session a day from 2025-07-<first_day> 10:00 on the given channels; the last one
    converts one minute in (conversion id "k-<uid>") when `converts`."""
    sessions = [chan(f"{uid}-{i}", uid, f"2025-07-{first_day + i:02d} 10:00:00", ch)
                for i, ch in enumerate(channels)]
    conversions = []
    if converts:
        last = sessions[-1]
        conversions.append(conv(f"k-{uid}", last["session_id"],
                                (last["started_at"] + timedelta(minutes=1)).isoformat(), value=value))
    return sessions, conversions


def build(*journeys):
    sessions, conversions = [], []
    for s, c in journeys:
        sessions += s
        conversions += c
    return sessions, conversions


def credits(answer, measure, model):
    return {c["channel"]: c[measure][model] for c in answer["attribution"]["channels"]}


def test_markov_published_case_1():
    # docs/metrics.md#attribution-models: C1>C2>C3 (converts), C1 (null), C2>C3 (null) give C1 0.2, C2 0.4, C3 0.4.
    # By hand: steps (start)->C1 x2, (start)->C2 x1, C1->C2, C1->(null), C2->C3 x2,
    # C3->(conversion), C3->(null).  P = 2/3 * 1/2 * 1 * 1/2 + 1/3 * 1 * 1/2 = 1/6 + 1/6 = 1/3.
    # Without C1: (start)->C1 goes to (null): P = 1/3 * 1/2 = 1/6, RE = 1/2.  Without C2 or
    # C3 nothing converts: RE = 1 each.  sum RE = 5/2, N = 1: 1/5, 2/5, 2/5.  V = 50: 10, 20, 20.
    sessions, conversions = build(journey("u1", ["x/C1", "x/C2", "x/C3"], value="50"),
                                  journey("u2", ["x/C1"], converts=False),
                                  journey("u3", ["x/C2", "x/C3"], converts=False))
    exact = reference_attribution_exact(sessions, conversions, dict(JULY))
    assert exact["markov"]["P"] == Fraction(1, 3)
    assert exact["markov"]["P_without"] == {"x/C1": Fraction(1, 6), "x/C2": 0, "x/C3": 0}
    assert exact["markov"]["RE"] == {"x/C1": Fraction(1, 2), "x/C2": 1, "x/C3": 1}
    got = reference_attribution(sessions, conversions, dict(JULY))
    assert credits(got, "conversions", "data_driven") == {"x/C1": 0.2, "x/C2": 0.4, "x/C3": 0.4}
    assert credits(got, "value", "data_driven") == {"x/C1": 10.0, "x/C2": 20.0, "x/C3": 20.0}
    # rule-based, N = 1, n = 3: linear 1/3 each (0.33), so channel ascending breaks the tie;
    # position_based 2/5, 1/5, 2/5; last_non_direct = last_touch (nothing is direct).
    a = got["attribution"]
    assert list(a) == ["conversions", "value", "channels", "paths", "path_lengths"]
    assert (a["conversions"], a["value"]) == (1, 50.0)
    assert [c["channel"] for c in a["channels"]] == ["x/C1", "x/C2", "x/C3"]
    assert [list(c) for c in a["channels"]] == [["channel", "conversions", "value"]] * 3
    assert all(list(c["conversions"]) == MODELS and list(c["value"]) == MODELS for c in a["channels"])
    assert credits(got, "conversions", "first_touch") == {"x/C1": 1.0, "x/C2": 0.0, "x/C3": 0.0}
    assert credits(got, "conversions", "last_touch") == {"x/C1": 0.0, "x/C2": 0.0, "x/C3": 1.0}
    assert credits(got, "conversions", "last_non_direct") == {"x/C1": 0.0, "x/C2": 0.0, "x/C3": 1.0}
    assert credits(got, "conversions", "linear") == {"x/C1": 0.33, "x/C2": 0.33, "x/C3": 0.33}
    assert credits(got, "value", "linear") == {"x/C1": 16.67, "x/C2": 16.67, "x/C3": 16.67}
    assert credits(got, "conversions", "position_based") == {"x/C1": 0.4, "x/C2": 0.2, "x/C3": 0.4}
    assert a["paths"] == [{"path": ["x/C1", "x/C2", "x/C3"], "conversions": 1, "value": 50.0}]
    assert a["path_lengths"] == {"1": 0, "2": 0, "3": 1, "4": 0, "5+": 0}


def test_markov_published_case_2_and_position_based_repeats():
    # docs/metrics.md#attribution-models: A>B>A>B>B>A, A>B>B>A>A, A>A (all convert) give A 2, B 1.
    # By hand: out of A: A->B 3, A->A 2, A->(conversion) 3; out of B: B->A 3, B->B 2.  P = 1.
    # Without A: (start)->A goes to (null), P = 0, RE 1.  Without B: x_A = 2/8 x_A + 3/8,
    # x_A = 1/2, RE 1/2.  sum RE 3/2, N = 3: A 3 * 1 / (3/2) = 2, B 3 * (1/2) / (3/2) = 1.
    sessions, conversions = build(journey("u1", ["x/A", "x/B", "x/A", "x/B", "x/B", "x/A"]),
                                  journey("u2", ["x/A", "x/B", "x/B", "x/A", "x/A"]),
                                  journey("u3", ["x/A", "x/A"]))
    exact = reference_attribution_exact(sessions, conversions, dict(JULY))
    assert exact["markov"]["P"] == 1
    assert exact["markov"]["RE"] == {"x/A": 1, "x/B": Fraction(1, 2)}
    got = reference_attribution(sessions, conversions, dict(JULY))
    assert credits(got, "conversions", "data_driven") == {"x/A": 2.0, "x/B": 1.0}
    # no values at all: V = 0 and every value credit is 0.0
    assert got["attribution"]["value"] == 0.0
    assert credits(got, "value", "data_driven") == {"x/A": 0.0, "x/B": 0.0}
    # linear: u1 A 3/6, B 3/6; u2 A 3/5, B 2/5; u3 A 1 -> A 21/10, B 9/10
    assert exact["channels"]["x/A"]["conversions"]["linear"] == Fraction(21, 10)
    assert exact["channels"]["x/B"]["conversions"]["linear"] == Fraction(9, 10)
    # position_based: u1 (n=6): A 2/5 + 2/5 + 1/20 (the middle A), B 3 * 1/20;
    # u2 (n=5): A 2/5 + 2/5 + 1/15, B 2 * 1/15; u3 (n=2): A 1/2 + 1/2.
    # A = 17/20 + 13/15 + 1 = 163/60 (2.7166.. -> 2.72), B = 3/20 + 2/15 = 17/60 (0.2833.. -> 0.28)
    assert exact["channels"]["x/A"]["conversions"]["position_based"] == Fraction(163, 60)
    assert exact["channels"]["x/B"]["conversions"]["position_based"] == Fraction(17, 60)
    assert credits(got, "conversions", "position_based") == {"x/A": 2.72, "x/B": 0.28}
    # paths, collapsed: A>B>A>B>A, A>B>A, A; one conversion each, value 0 -> joined ascending.
    assert got["attribution"]["paths"] == [
        {"path": ["x/A"], "conversions": 1, "value": 0.0},
        {"path": ["x/A", "x/B", "x/A"], "conversions": 1, "value": 0.0},
        {"path": ["x/A", "x/B", "x/A", "x/B", "x/A"], "conversions": 1, "value": 0.0}]
    # lengths NOT collapsed: 6 and 5 are "5+", 2 is "2"
    assert got["attribution"]["path_lengths"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5+": 2}


def test_position_based_n_1_2_3_5():
    # docs/metrics.md#attribution-models: n = 1: 1; n = 2: 1/2 each; n >= 3: 2/5 first, 2/5 last, 1/(5(n-2)) to each other.
    sessions, conversions = build(journey("u1", ["p/one"]),
                                  journey("u2", ["p/a", "p/b"]),
                                  journey("u3", ["p/c", "p/d", "p/e"]),
                                  journey("u4", ["p/f", "p/g", "p/h", "p/i", "p/j"]))
    exact = reference_attribution_exact(sessions, conversions, dict(JULY))
    pb = {ch: cells["conversions"]["position_based"] for ch, cells in exact["channels"].items()}
    assert pb == {"p/one": 1, "p/a": Fraction(1, 2), "p/b": Fraction(1, 2),
                  "p/c": Fraction(2, 5), "p/d": Fraction(1, 5), "p/e": Fraction(2, 5),
                  "p/f": Fraction(2, 5), "p/g": Fraction(1, 15), "p/h": Fraction(1, 15),
                  "p/i": Fraction(1, 15), "p/j": Fraction(2, 5)}
    got = credits(reference_attribution(sessions, conversions, dict(JULY)), "conversions", "position_based")
    assert got["p/g"] == 0.07 and got["p/f"] == 0.4 and got["p/one"] == 1.0
    # channels by linear credit desc: p/one 1, p/a p/b 1/2, p/c..p/e 1/3, p/f..p/j 1/5
    order = [c["channel"] for c in reference_attribution(sessions, conversions, dict(JULY))["attribution"]["channels"]]
    assert order == ["p/one", "p/a", "p/b", "p/c", "p/d", "p/e", "p/f", "p/g", "p/h", "p/i", "p/j"]
    assert reference_attribution(sessions, conversions, dict(JULY))["attribution"]["path_lengths"] == \
        {"1": 1, "2": 1, "3": 1, "4": 0, "5+": 1}


def test_time_decay_one_half_life_apart():
    # Default half-life 7 days.  s1 07-01 00:00, s2 07-08 00:00 converts at 07-08 00:00:
    # weights 2^-1 = 1/2 and 2^0 = 1 -> shares 1/3 and 2/3; value 90 -> 30 and 60.
    sessions = [chan("s1", "u", "2025-07-01 00:00:00", "d/early"),
                chan("s2", "u", "2025-07-08 00:00:00", "d/late")]
    conversions = [conv("k", "s2", "2025-07-08 00:00:00", value="90")]
    exact = reference_attribution_exact(sessions, conversions, dict(JULY))
    td = {ch: cells["conversions"]["time_decay"] for ch, cells in exact["channels"].items()}
    assert td == {"d/early": Fraction(1, 3), "d/late": Fraction(2, 3)} and exact["exact"]
    got = reference_attribution(sessions, conversions, dict(JULY))
    assert credits(got, "conversions", "time_decay") == {"d/early": 0.33, "d/late": 0.67}
    assert credits(got, "value", "time_decay") == {"d/early": 30.0, "d/late": 60.0}
    # Converting 6 hours later: weights 2^-(7.25/7) and 2^-(0.25/7), same ratio 1/2 -> same shares.
    later = [conv("k", "s2", "2025-07-08 06:00:00", value="90")]
    exact = reference_attribution_exact(sessions, later, dict(JULY))
    assert exact["channels"]["d/early"]["conversions"]["time_decay"] == Fraction(1, 3)
    # half_life_days 3.5: the 7 days are two half-lives, weights 1/4 and 1 -> 1/5 and 4/5.
    exact = reference_attribution_exact(sessions, conversions, {**JULY, "half_life_days": 3.5})
    assert exact["channels"]["d/early"]["conversions"]["time_decay"] == Fraction(1, 5)
    # half_life_days 14: half a half-life apart, weights 2^-1/2 and 1 ->
    # 2^-1/2 / (1 + 2^-1/2) = 1 / (sqrt 2 + 1) = sqrt 2 - 1 = 0.41421356..., the other 2 - sqrt 2.
    exact = reference_attribution_exact(sessions, conversions, {**JULY, "half_life_days": 14})
    assert not exact["exact"]
    sqrt2 = Fraction(Decimal(2).sqrt(decimal.Context(prec=70)))
    assert abs(exact["channels"]["d/early"]["conversions"]["time_decay"] - (sqrt2 - 1)) < Fraction(1, 10 ** 50)
    assert abs(exact["channels"]["d/late"]["value"]["time_decay"] - 90 * (2 - sqrt2)) < Fraction(1, 10 ** 48)
    got = reference_attribution(sessions, conversions, {**JULY, "half_life_days": 14})
    assert credits(got, "conversions", "time_decay") == {"d/early": 0.41, "d/late": 0.59}
    assert credits(got, "value", "time_decay") == {"d/early": 37.28, "d/late": 52.72}  # 90*0.41421 = 37.279
    # half_life_days 0.01: 7 days are 700 half-lives; 2^-700 is negligible (CONVENTION 10):
    # all the credit, to 2 decimals, goes to the converting session.
    got = reference_attribution(sessions, conversions, {**JULY, "half_life_days": 0.01})
    assert credits(got, "conversions", "time_decay") == {"d/late": 1.0, "d/early": 0.0}


def test_last_non_direct_with_all_direct_journeys():
    # u1: organic, direct, direct (converts) -> last non-direct is organic; last_touch direct.
    # u2: direct, direct (converts) -> all direct: the credit goes to s_k, direct.
    sessions, conversions = build(journey("u1", ["organic/g", "(none)/(direct)", "(none)/(direct)"]),
                                  journey("u2", ["(none)/(direct)", "(none)/(direct)"], first_day=5))
    got = reference_attribution(sessions, conversions, dict(JULY))
    assert credits(got, "conversions", "last_non_direct") == {"(none)/(direct)": 1.0, "organic/g": 1.0}
    assert credits(got, "conversions", "last_touch") == {"(none)/(direct)": 2.0, "organic/g": 0.0}
    # linear: direct 2/3 + 1, organic 1/3 -> direct first
    assert [c["channel"] for c in got["attribution"]["channels"]] == ["(none)/(direct)", "organic/g"]
    # paths collapse the repeats: organic > direct, and direct alone
    assert got["attribution"]["paths"] == [
        {"path": ["(none)/(direct)"], "conversions": 1, "value": 0.0},
        {"path": ["organic/g", "(none)/(direct)"], "conversions": 1, "value": 0.0}]
    assert got["attribution"]["path_lengths"] == {"1": 0, "2": 1, "3": 1, "4": 0, "5+": 0}


def test_lookback_cuts_a_journey():
    # lookback_days 7; the conversion is at 07-10 12:00.
    # s1 07-01 00:00 is 9.5 days before: out.  s2 07-03 12:00 is exactly 7 * 86 400 s before: in.
    # s3 07-10 12:00 converts.  s4 starts 07-10 12:00:30, after s3 on the timeline, before
    # the conversion at 12:01: never a touchpoint.
    sessions = [chan("s1", "u", "2025-07-01 00:00:00", "organic/g"),
                chan("s2", "u", "2025-07-03 12:01:00", "email/n"),
                chan("s3", "u", "2025-07-10 12:00:00", "cpc/g"),
                chan("s4", "u", "2025-07-10 12:00:30", "social/f")]
    conversions = [conv("k", "s3", "2025-07-10 12:01:00")]
    params = {**JULY, "lookback_days": 7}
    exact = reference_attribution_exact(sessions, conversions, params)
    assert exact["touchpoints"] == {"k": ["s2", "s3"]}
    got = reference_attribution(sessions, conversions, params)
    assert credits(got, "conversions", "first_touch") == {"email/n": 1.0, "cpc/g": 0.0}
    # s1 and s4 are on no path (u converted, so u has no non-converting path): not in channels
    assert [c["channel"] for c in got["attribution"]["channels"]] == ["cpc/g", "email/n"]
    # lookback 10: 07-10 12:01 - 10 days = 06-30 12:01 <= 07-01 00:00 -> s1 counts, n = 3
    assert reference_attribution_exact(sessions, conversions, {**JULY, "lookback_days": 10})[
        "touchpoints"] == {"k": ["s1", "s2", "s3"]}
    # default 90 days: same
    assert reference_attribution_exact(sessions, conversions, dict(JULY))["touchpoints"] == {"k": ["s1", "s2", "s3"]}


def test_lookback_keeps_an_old_converting_session_and_limits_non_converting_paths():
    # A session that started 19 days before its conversion (lookback 7) is still a touchpoint.
    sessions = [chan("s0", "u", "2025-06-30 00:00:00", "organic/g"),
                chan("s1", "u", "2025-07-01 00:00:00", "cpc/g"),
                # w never converts: last session 07-15 00:00; lookback 7 reaches back to 07-08 00:00
                chan("w1", "w", "2025-07-07 23:59:59", "social/f"),
                chan("w2", "w", "2025-07-08 00:00:00", "referral/r"),
                chan("w3", "w", "2025-07-15 00:00:00", "referral/r")]
    conversions = [conv("k", "s1", "2025-07-20 00:00:00")]
    exact = reference_attribution_exact(sessions, conversions, {**JULY, "lookback_days": 7})
    assert exact["touchpoints"] == {"k": ["s1"]}
    # chain: (start)->cpc->(conversion); (start)->referral->referral->(null).  social/f and organic/g
    # are on no path.  P = 1/2; without cpc P = 0 (RE 1); without referral P = 1/2 (RE 0).
    assert list(exact["channels"]) == ["cpc/g", "referral/r"]
    assert exact["markov"]["P"] == Fraction(1, 2)
    assert exact["markov"]["RE"] == {"cpc/g": 1, "referral/r": 0}
    got = reference_attribution(sessions, conversions, {**JULY, "lookback_days": 7})
    # referral/r: 0 in every model (seen only on a non-converting path), data_driven 0 too
    assert got["attribution"]["channels"][1] == {
        "channel": "referral/r",
        "conversions": {m: 0.0 for m in MODELS}, "value": {m: 0.0 for m in MODELS}}
    # (w2 at exactly 07-15 - 7 days is in: the boundary is included; w1 one second earlier is out.)
    # lookback 8 reaches back to 07-07 00:00, before w1: social/f joins the chain.
    exact = reference_attribution_exact(sessions, conversions, {**JULY, "lookback_days": 8})
    assert sorted(exact["channels"]) == ["cpc/g", "referral/r", "social/f"]


def test_first_versus_all_conversions():
    # s1 organic; s2 cpc with k1 (10:05, 10.00) and k2 (10:10, 20.00); s3 email with k3 (no value).
    sessions = [chan("s1", "u", "2025-07-01 10:00:00", "organic/g"),
                chan("s2", "u", "2025-07-02 10:00:00", "cpc/g"),
                chan("s3", "u", "2025-07-03 10:00:00", "email/n")]
    conversions = [conv("k1", "s2", "2025-07-02 10:05:00", value="10.00"),
                   conv("k2", "s2", "2025-07-02 10:10:00", value="20.00"),
                   conv("k3", "s3", "2025-07-03 10:05:00")]
    # first: k1 only, touchpoints s1, s2; N = 1, V = 10.
    first = reference_attribution(sessions, conversions, dict(JULY))["attribution"]
    assert (first["conversions"], first["value"]) == (1, 10.0)
    assert credits({"attribution": first}, "value", "last_touch") == {"organic/g": 0.0, "cpc/g": 10.0}
    # all: k1, k2 (s1, s2) and k3 (s1, s2, s3); N = 3, V = 30 (k3 counts 0).
    exact = reference_attribution_exact(sessions, conversions, {**JULY, "conversions": "all"})
    assert exact["touchpoints"] == {"k1": ["s1", "s2"], "k2": ["s1", "s2"], "k3": ["s1", "s2", "s3"]}
    got = reference_attribution(sessions, conversions, {**JULY, "conversions": "all"})
    a = got["attribution"]
    assert (a["conversions"], a["value"]) == (3, 30.0)
    assert credits(got, "conversions", "last_touch") == {"cpc/g": 2.0, "organic/g": 0.0, "email/n": 1.0}
    assert credits(got, "value", "last_touch") == {"cpc/g": 30.0, "organic/g": 0.0, "email/n": 0.0}
    assert credits(got, "value", "first_touch") == {"cpc/g": 0.0, "organic/g": 30.0, "email/n": 0.0}
    # linear: organic 1/2 + 1/2 + 1/3 = 4/3, cpc the same, email 1/3: the tie goes "cpc" < "organic"
    assert [c["channel"] for c in a["channels"]] == ["cpc/g", "organic/g", "email/n"]
    assert credits(got, "conversions", "linear") == {"cpc/g": 1.33, "organic/g": 1.33, "email/n": 0.33}
    # linear value: organic 10/2 + 20/2 + 0 = 15
    assert credits(got, "value", "linear") == {"cpc/g": 15.0, "organic/g": 15.0, "email/n": 0.0}
    assert a["paths"] == [{"path": ["organic/g", "cpc/g"], "conversions": 2, "value": 30.0},
                          {"path": ["organic/g", "cpc/g", "email/n"], "conversions": 1, "value": 0.0}]
    assert a["path_lengths"] == {"1": 0, "2": 2, "3": 1, "4": 0, "5+": 0}


def test_first_conversion_tie_goes_to_the_smallest_conversion_id():
    # k2 (in sA, organic) and k10 (in sB, cpc) share converted_at; "k10" < "k2" as strings.
    sessions = [chan("sA", "u", "2025-07-01 10:00:00", "organic/g"),
                chan("sB", "u", "2025-07-01 10:01:00", "cpc/g")]
    conversions = [conv("k2", "sA", "2025-07-01 10:30:00", value="5"),
                   conv("k10", "sB", "2025-07-01 10:30:00", value="7")]
    exact = reference_attribution_exact(sessions, conversions, dict(JULY))
    assert exact["touchpoints"] == {"k10": ["sA", "sB"]}
    got = reference_attribution(sessions, conversions, dict(JULY))
    assert got["attribution"]["value"] == 7.0
    assert credits(got, "conversions", "last_touch") == {"cpc/g": 1.0, "organic/g": 0.0}


def test_filters_select_the_cohort_not_the_attributed_conversion():
    # CONVENTION 14.  meta_type "hubspot_form" matches s2 (k2), so u is in U and C; u's earliest
    # conversion is k1 ("custom", in s1, before the window): `first` attributes k1.
    sessions = [chan("s1", "u", "2025-06-30 10:00:00", "organic/g"),
                chan("s2", "u", "2025-07-02 10:00:00", "cpc/g")]
    conversions = [conv("k1", "s1", "2025-06-30 10:01:00", meta_type="custom", value="1"),
                   conv("k2", "s2", "2025-07-02 10:01:00", meta_type="hubspot_form", value="2")]
    params = {**JULY, "meta_type": "hubspot_form"}
    assert reference_attribution_exact(sessions, conversions, params)["touchpoints"] == {"k1": ["s1"]}
    assert reference_attribution_exact(sessions, conversions, {**params, "conversions": "all"})[
        "touchpoints"] == {"k1": ["s1"], "k2": ["s1", "s2"]}


def test_attribution_empty_cohort_and_no_attributed_conversion():
    sessions, conversions = build(journey("u1", ["x/A", "x/B"], converts=False))
    assert reference_attribution(sessions, conversions, {"start_date": "2024-01-01", "end_date": "2024-01-31"}) == NO_DATA
    assert reference_attribution_exact([], [], dict(JULY)) == NO_DATA
    assert reference_attribution(sessions, conversions, dict(JULY)) == {"attribution": {
        "conversions": 0, "value": 0.0, "channels": [], "paths": [], "path_lengths": ZERO_LENGTHS}}
    # the cohort decides: u2 converted, but outside the cohort (filter on medium x)
    more = build((sessions, conversions), journey("u2", ["y/C"]))
    assert reference_attribution(*more, {**JULY, "medium": "x"})["attribution"]["conversions"] == 0


def test_paths_grouped_ordered_and_cut_and_values_half_up():
    # X,X,Y and X,Y both collapse to X>Y (2 conversions, 4 + 6 = 10); Y twice (2, 30);
    # B and A once each with 2.675 (half up: 2.68; float round() would give 2.67).
    sessions, conversions = build(journey("u1", ["m/X", "m/X", "m/Y"], value="4"),
                                  journey("u2", ["m/X", "m/Y"], value="6"),
                                  journey("u3", ["m/Y"], value="10"),
                                  journey("u4", ["m/Y"], value="20"),
                                  journey("u5", ["m/B"], value="2.675"),
                                  journey("u6", ["m/A"], value="2.675"))
    got = reference_attribution(sessions, conversions, {**JULY, "top_paths": 3})["attribution"]
    assert got["paths"] == [{"path": ["m/Y"], "conversions": 2, "value": 30.0},
                            {"path": ["m/X", "m/Y"], "conversions": 2, "value": 10.0},
                            {"path": ["m/A"], "conversions": 1, "value": 2.68}]
    assert got["value"] == 45.35   # 4 + 6 + 10 + 20 + 2.675 + 2.675
    assert got["path_lengths"] == {"1": 4, "2": 1, "3": 1, "4": 0, "5+": 0}
    assert len(reference_attribution(sessions, conversions, dict(JULY))["attribution"]["paths"]) == 4


def test_docs_worked_example():
    # docs/metrics.md#cohort example, July, no filter, conversions first.  Effective channels:
    # s1 organic/google.com, s2 email/newsletter (converts c1), s3 direct, s4 social/facebook.com,
    # s5 cpc/google.com (June), s6 organic/google.com (converts c2 120.00, c3 30.00).
    sessions = [sess("s1", "u1", "2025-07-01 10:00:00", 120, "organic", "google.com"),
                sess("s2", "u1", "2025-07-03 09:00:00", 600, "email", "newsletter"),
                sess("s3", "u1", "2025-07-10 18:00:00"),
                sess("s4", "u2", "2025-07-02 12:00:00", 45, "social", "facebook.com"),
                sess("s5", "u3", "2025-06-20 08:00:00", 90, "cpc", "google.com"),
                sess("s6", "u3", "2025-07-05 20:00:00", 360, "organic", "google.com")]
    conversions = [conv("c1", "s2", "2025-07-03 09:04:00", "", "hubspot_form", "demo"),
                   conv("c2", "s6", "2025-07-05 20:05:00", "", "hubspot_form", "demo", "120.00"),
                   conv("c3", "s6", "2025-07-05 20:05:30", "", "custom", "newsletter", "30.00")]
    got = reference_attribution(sessions, conversions, dict(JULY))["attribution"]
    # By hand.  c1: s1, s2 (n 2); c2: s5, s6 (n 2).  N 2, V 120.
    # time_decay c1: s1 started 47 h = 47/24 days before s2: ratio 2^-(47/168) = 0.82373,
    #   s1 share 0.82373 / 1.82373 = 0.45167, s2 0.54833 (-> 0.55).
    # c2: s5 started 15.5 days before s6: ratio 2^-(15.5/7) = 0.21549, s5 share 0.17729, s6 0.82271.
    # organic 0.45167 + 0.82271 = 1.27438 -> 1.27; value 120 * 0.82271 = 98.73; cpc 120 * 0.17729 = 21.27
    # data_driven: organic>email>(conv), cpc>organic>(conv), social>(null): P = 2/3;
    # without organic 0 (RE 1); without email or cpc 1/3 (RE 1/2); without social 2/3 (RE 0).
    # sum RE 2: organic 1, email 0.5, cpc 0.5, social 0; value 60, 30, 30, 0.
    def row(ch, conversions_, values):
        return {"channel": ch, "conversions": dict(zip(MODELS, conversions_)), "value": dict(zip(MODELS, values))}
    assert got == {
        "conversions": 2, "value": 120.0,
        "channels": [
            row("organic/google.com", [1.0, 1.0, 1.0, 1.0, 1.0, 1.27, 1.0],
                [0.0, 120.0, 120.0, 60.0, 60.0, 98.73, 60.0]),
            row("cpc/google.com", [1.0, 0.0, 0.0, 0.5, 0.5, 0.18, 0.5],
                [120.0, 0.0, 0.0, 60.0, 60.0, 21.27, 30.0]),
            row("email/newsletter", [0.0, 1.0, 1.0, 0.5, 0.5, 0.55, 0.5],
                [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 30.0]),
            row("social/facebook.com", [0.0] * 7, [0.0] * 7)],
        "paths": [{"path": ["cpc/google.com", "organic/google.com"], "conversions": 1, "value": 120.0},
                  {"path": ["organic/google.com", "email/newsletter"], "conversions": 1, "value": 0.0}],
        "path_lengths": {"1": 0, "2": 2, "3": 0, "4": 0, "5+": 0}}
    # the hand arithmetic above, checked with floats
    assert math.isclose(2 ** (-47 / 168) / (1 + 2 ** (-47 / 168)), 0.45167, abs_tol=1e-5)
    assert math.isclose(2 ** (-15.5 / 7) / (1 + 2 ** (-15.5 / 7)), 0.17729, abs_tol=1e-5)


def test_near_rounding_boundary():
    assert near_rounding_boundary(Fraction(1, 200))            # 0.005 is a boundary
    assert near_rounding_boundary(Fraction(5, 1000) + Fraction(1, 10 ** 10))
    assert not near_rounding_boundary(Fraction(1, 3))
    assert not near_rounding_boundary(None)


# ---------------------------------------------------------------- properties of the model
CHANNELS = ["(none)/(direct)", "organic/g", "cpc/g", "email/n"]
VALUES = [None, Decimal("0"), Decimal("10.5"), Decimal("0.333333"), Decimal("99.99")]


@st.composite
def attribution_datasets(draw):
    sessions, conversions = [], []
    for i in range(draw(st.integers(1, 12))):
        day = draw(st.integers(0, 40))
        minute = draw(st.sampled_from([0, 0, 7, 600]))
        start = datetime(2025, 6, 20) + timedelta(days=day, minutes=minute)
        medium, source = draw(st.sampled_from(CHANNELS)).split("/")
        sessions.append({"session_id": f"s{i}", "user_id": draw(st.sampled_from(["a", "b", "c", "d"])),
                         "started_at": start, "exited_at": None, "landing_page": None,
                         "source": source, "medium": medium, "campaign": None, "content": None, "term": None})
    for j in range(draw(st.integers(0, 6))):
        s = draw(st.sampled_from(sessions))
        delay = timedelta(seconds=draw(st.sampled_from([0, 30, 3600, 86400 * 3, 86400 * 20])))
        conversions.append({"conversion_id": f"k{j}", "session_id": s["session_id"],
                            "converted_at": s["started_at"] + delay, "conversion_page": None,
                            "meta_type": None, "meta_id": None, "value": draw(st.sampled_from(VALUES))})
    params = {"start_date": "2025-07-01", "end_date": "2025-07-31",
              "lookback_days": draw(st.sampled_from([None, 1, 7, 30, 365])),
              "half_life_days": draw(st.sampled_from([None, 0.5, 1, 7, 2.5, 365])),
              "conversions": draw(st.sampled_from([None, "", "first", "all"]))}
    return sessions, conversions, params


@given(attribution_datasets())
def test_property_credits_add_up_to_conversions_and_value(dataset):
    """docs/metrics.md#attribution-response: each model's unrounded credits add up to the attributed conversions N and the
    total value V; data_driven credits are all null or add up too."""
    sessions, conversions, params = dataset
    exact = reference_attribution_exact(sessions, conversions, params)
    if exact == NO_DATA:
        return
    N, V = exact["conversions"], exact["value"]
    assert sum(exact["path_lengths"].values()) == N
    assert sum(count for _, count, _ in exact["paths"]) == N
    assert sum(value for _, _, value in exact["paths"]) == V
    for model in MODELS:
        conv_credits = [cells["conversions"][model] for cells in exact["channels"].values()]
        value_credits = [cells["value"][model] for cells in exact["channels"].values()]
        if model == "data_driven" and N and conv_credits[0] is None:
            assert all(x is None for x in conv_credits + value_credits)
            continue
        assert all(x >= 0 for x in conv_credits + value_credits)
        if model == "time_decay" and not exact["exact"]:
            assert abs(sum(conv_credits) - N) < Fraction(1, 10 ** 40)
            assert abs(sum(value_credits) - V) < Fraction(1, 10 ** 36)
        else:
            assert sum(conv_credits) == N
            assert sum(value_credits) == V
    if N:
        # whenever a conversion is attributed, P > 0 and sum RE > 0 (docs/metrics.md#data-driven)
        assert exact["markov"]["P"] > 0
        assert all(0 <= re <= 1 for re in exact["markov"]["RE"].values())
    rounded = reference_attribution(sessions, conversions, params)["attribution"]
    assert [c["channel"] for c in rounded["channels"]] == list(exact["channels"])
    assert rounded["conversions"] == N and len(rounded["paths"]) <= 10


@given(attribution_datasets())
def test_property_touchpoints_end_at_the_converting_session(dataset):
    """docs/metrics.md#attributed-conversions: s_k is always the last touchpoint; the others precede it within the lookback."""
    sessions, conversions, params = dataset
    exact = reference_attribution_exact(sessions, conversions, {**params, "conversions": "all"})
    if exact == NO_DATA:
        return
    by_id = {s["session_id"]: s for s in sessions}
    lookback = timedelta(days=params["lookback_days"] or 90)
    for c in conversions:
        if c["conversion_id"] not in exact["touchpoints"]:
            continue
        tps = [by_id[sid] for sid in exact["touchpoints"][c["conversion_id"]]]
        assert tps[-1]["session_id"] == c["session_id"]
        assert all(s["started_at"] >= c["converted_at"] - lookback for s in tps[:-1])
        assert all(s["user_id"] == tps[-1]["user_id"] for s in tps)
        keys = [(s["started_at"], s["session_id"]) for s in tps]
        assert keys == sorted(keys)


# ======================================================================== trend (docs/metrics.md#trend)
def trend(sessions, conversions, params):
    return reference_timeseries(sessions, conversions, params)["timeseries"]


def bucket(start, sessions=0, users=0, converting=0, converted=0):
    return {"start": start, "sessions": sessions, "users": users,
            "converting_sessions": converting, "converted_users": converted}


def test_trend_docs_example_by_week():
    # docs/metrics.md#trend: the worked example, July, by week.  S = s1 (07-01), s2 (07-03),
    # s3 (07-10), s4 (07-02), s6 (07-05); s5 (06-20) is outside the window.
    # week of Monday 06-30: s1, s2, s4, s6 -> 4 sessions, users u1 u2 u3, converting s2 s6;
    # converted: u1 first converts 07-03, u3 07-05 -> 2.  Week 07-07: s3 (u1, no conversion).
    sessions = [sess("s1", "u1", "2025-07-01 10:00:00", medium="organic", source="google.com"),
                sess("s2", "u1", "2025-07-03 09:00:00", medium="email", source="newsletter"),
                sess("s3", "u1", "2025-07-10 18:00:00"),
                sess("s4", "u2", "2025-07-02 12:00:00", medium="social", source="facebook.com"),
                sess("s5", "u3", "2025-06-20 08:00:00", medium="cpc", source="google.com"),
                sess("s6", "u3", "2025-07-05 20:00:00", medium="organic", source="google.com")]
    conversions = [conv("c1", "s2", "2025-07-03 09:04:00"), conv("c2", "s6", "2025-07-05 20:05:00"),
                   conv("c3", "s6", "2025-07-05 20:05:30")]
    assert reference_timeseries(sessions, conversions, {**JULY, "interval": "week"}) == {"timeseries": {
        "interval": "week", "buckets": [
            bucket("2025-06-30", 4, 3, 2, 2), bucket("2025-07-07", 1, 1, 0, 0), bucket("2025-07-14"),
            bucket("2025-07-21"), bucket("2025-07-28")]}}
    # by day: 31 buckets, the default interval
    days = trend(sessions, conversions, dict(JULY))
    assert days["interval"] == "day" and len(days["buckets"]) == 31
    assert days["buckets"][2] == bucket("2025-07-03", 1, 1, 1, 1)
    # breakdown of the same example by channel (docs/metrics.md#breakdown)
    assert reference_breakdown(sessions, conversions, {**JULY, "dimension": "channel"})["breakdown"]["rows"] == [
        {"value": "organic/google.com", "sessions": 2, "users": 2, "converting_sessions": 1,
         "converted_users": 2, "conversion_rate": "100.00%"},
        {"value": "(none)/(direct)", "sessions": 1, "users": 1, "converting_sessions": 0,
         "converted_users": 1, "conversion_rate": "100.00%"},
        {"value": "email/newsletter", "sessions": 1, "users": 1, "converting_sessions": 1,
         "converted_users": 1, "conversion_rate": "100.00%"},
        {"value": "social/facebook.com", "sessions": 1, "users": 1, "converting_sessions": 0,
         "converted_users": 0, "conversion_rate": "0.00%"}]


def test_trend_week_and_month_windows_starting_mid_period():
    # Window Wed 2025-07-02 .. Tue 2025-07-15: weeks of 06-30, 07-07, 07-14.
    # t0 (Tue 07-01) is before the window: not counted though its week is the first bucket.
    # t1 (Wed 07-02 00:00, the window's first instant) counts; t2 (Tue 07-15 23:59:59.999999) too.
    sessions = [sess("t0", "u", "2025-07-01 12:00:00"),
                sess("t1", "v", "2025-07-02 00:00:00"),
                sess("t2", "w", "2025-07-15 23:59:59.999999")]
    # v converts in t1 on Sunday 07-06 23:00 (a long session): counted in the week of 06-30.
    # u's only session t0 is outside the window, so u is not in U (nor C) and its conversion
    # k0 on 07-08 counts nowhere.  w converts at 07-16, after the window: not counted.
    conversions = [conv("k1", "t1", "2025-07-06 23:00:00"), conv("k0", "t0", "2025-07-08 00:00:00"),
                   conv("k2", "t2", "2025-07-16 00:00:01")]
    got = trend(sessions, conversions, {"start_date": "2025-07-02", "end_date": "2025-07-15", "interval": "week"})
    assert got["buckets"] == [bucket("2025-06-30", 1, 1, 1, 1), bucket("2025-07-07"),
                              bucket("2025-07-14", 1, 1, 1, 0)]
    # Month: window 2024-12-10 .. 2025-02-01T00:00:00Z -> Dec, Jan, Feb (the window touches Feb 1).
    got = trend(sessions, conversions, {"start_date": "2024-12-10", "end_date": "2025-02-01T00:00:00Z",
                                        "interval": "month"})
    assert [b["start"] for b in got["buckets"]] == ["2024-12-01", "2025-01-01", "2025-02-01"]
    assert all(b == bucket(b["start"]) for b in got["buckets"])       # U empty: every count 0
    # Week across the year end: Tue 2024-12-31 is in the week of Monday 2024-12-30.
    got = trend([], [], {"start_date": "2024-12-31", "end_date": "2025-01-06", "interval": "week"})
    assert [b["start"] for b in got["buckets"]] == ["2024-12-30", "2025-01-06"]
    # Day with datetime bounds: 07-01 12:00 .. 07-03 01:00 -> three days
    got = trend(sessions, conversions, {"start_date": "2025-07-01T12:00:00Z", "end_date": "2025-07-03T01:00:00Z"})
    assert got["buckets"] == [bucket("2025-07-01", 1, 1, 1, 0), bucket("2025-07-02", 1, 1, 1, 0),
                              bucket("2025-07-03")]


def test_trend_converted_users_counted_once_at_their_first_conversion():
    # x converts first on 07-01 (before the window 07-02..07-04) and again on 07-03 in the
    # window: not counted anywhere (the first conversion lies outside the window).
    sessions = [sess("x1", "x", "2025-07-01 10:00:00"), sess("x2", "x", "2025-07-03 10:00:00")]
    conversions = [conv("k1", "x1", "2025-07-01 10:01:00"), conv("k2", "x2", "2025-07-03 10:01:00")]
    got = trend(sessions, conversions, {"start_date": "2025-07-02", "end_date": "2025-07-04"})
    assert got["buckets"] == [bucket("2025-07-02"), bucket("2025-07-03", 1, 1, 1, 0), bucket("2025-07-04")]


def test_trend_bucket_limit():
    # 2000-01-01 + 3699 days = 2010-02-16: 3,700 day buckets are allowed, 3,701 are not.
    assert len(trend([], [], {"start_date": "2000-01-01", "end_date": "2010-02-16"})["buckets"]) == 3700
    with pytest.raises(ValueError, match="interval"):
        reference_timeseries([], [], {"start_date": "2000-01-01", "end_date": "2010-02-17"})
    # months: 1900-01 .. 2208-04 is 308 * 12 + 4 = 3,700 months
    assert len(trend([], [], {"start_date": "1900-01-01", "end_date": "2208-04-30",
                              "interval": "month"})["buckets"]) == 3700
    with pytest.raises(ValueError, match="interval"):
        reference_timeseries([], [], {"start_date": "1900-01-01", "end_date": "2208-05-01", "interval": "month"})


# ======================================================================== breakdown (docs/metrics.md#breakdown)
def test_breakdown_null_rows_ordering_and_limit():
    sessions = [sess("b1", "u1", "2025-07-01 00:00:00", campaign="spring", channel_group="Email"),
                sess("b2", "u2", "2025-07-02 00:00:00", campaign="spring", channel_group="Email"),
                sess("b3", "u1", "2025-07-03 00:00:00", channel_group="Direct"),
                sess("b4", "u3", "2025-07-04 00:00:00", channel_group="Direct"),
                sess("b5", "u3", "2025-07-05 00:00:00", campaign="summer", channel_group="Direct"),
                sess("b6", "u4", "2025-07-06 00:00:00", campaign="autumn", channel_group="Paid Search",
                     medium="cpc", source="google.com")]
    # u1 converts in b3 (a null-campaign session); u4 converts in b6.
    conversions = [conv("k1", "b3", "2025-07-03 00:01:00"), conv("k4", "b6", "2025-07-06 00:01:00")]
    rows = reference_breakdown(sessions, conversions, {**JULY, "dimension": "campaign"})["breakdown"]["rows"]
    # spring: b1 b2, users u1 u2, converting 0, converted u1 (C has u1, u4) -> 1/2 = 50%
    # null: b3 b4, users u1 u3, converting b3, converted u1 -> 50%; after "spring" (same count)
    # autumn: b6 (u4 converted) 100%; summer: b5 (u3) 0%; "autumn" < "summer"
    assert rows == [
        {"value": "spring", "sessions": 2, "users": 2, "converting_sessions": 0, "converted_users": 1,
         "conversion_rate": "50.00%"},
        {"value": None, "sessions": 2, "users": 2, "converting_sessions": 1, "converted_users": 1,
         "conversion_rate": "50.00%"},
        {"value": "autumn", "sessions": 1, "users": 1, "converting_sessions": 1, "converted_users": 1,
         "conversion_rate": "100.00%"},
        {"value": "summer", "sessions": 1, "users": 1, "converting_sessions": 0, "converted_users": 0,
         "conversion_rate": "0.00%"}]
    got = reference_breakdown(sessions, conversions, {**JULY, "dimension": "campaign", "limit": 3})
    assert list(got) == ["breakdown"] and list(got["breakdown"]) == ["dimension", "rows"]
    assert got["breakdown"]["dimension"] == "campaign" and len(got["breakdown"]["rows"]) == 3
    # channel_group as the dimension, and the channel_group / channel filters (docs/metrics.md#parameters)
    groups = reference_breakdown(sessions, conversions, {**JULY, "dimension": "channel_group"})["breakdown"]["rows"]
    assert [(r["value"], r["sessions"]) for r in groups] == [("Direct", 3), ("Email", 2), ("Paid Search", 1)]
    filtered = reference_breakdown(sessions, conversions,
                                   {**JULY, "dimension": "campaign", "channel_group": "Direct"})["breakdown"]["rows"]
    assert [(r["value"], r["sessions"]) for r in filtered] == [(None, 2), ("summer", 1)]
    by_channel = reference_breakdown(sessions, conversions,
                                     {**JULY, "dimension": "channel_group", "channel": "cpc/google.com"})
    assert [(r["value"], r["sessions"]) for r in by_channel["breakdown"]["rows"]] == [("Paid Search", 1)]
    # U empty: rows []
    assert reference_breakdown(sessions, conversions, {**JULY, "dimension": "campaign", "channel": "nope/x"}) == \
        {"breakdown": {"dimension": "campaign", "rows": []}}


def test_channel_and_channel_group_filters_in_insights():
    # channel "cpc/google.com" matches a3 and b2 only; "cpc/Google.com" nothing (exact match)
    m = reference_insights(SESSIONS, CONVERSIONS, {**JULY, "channel": "cpc/google.com"})["overall_metrics"]
    assert m["session_summary"]["total_sessions"] == 2
    assert reference_insights(SESSIONS, CONVERSIONS, {**JULY, "channel": "cpc/Google.com"}) == NO_DATA
    # every session of SESSIONS has channel_group None: a given group matches nothing, "" is not given
    assert reference_insights(SESSIONS, CONVERSIONS, {**JULY, "channel_group": "Direct"}) == NO_DATA
    assert reference_insights(SESSIONS, CONVERSIONS, {**JULY, "channel_group": ""})[
        "overall_metrics"]["session_summary"]["total_sessions"] == 7
