"""Hand-computed examples for the reference model (tests/reference.py).

Every expected number below was derived by hand from docs/metrics.md (and the product
conventions stated in reference.py); the derivation is in the comments.
"""
from datetime import datetime, timedelta

from reference import reference_insights

NO_DATA = {"message": "No page data found for the given parameters."}
JULY = {"start_date": "2025-07-01", "end_date": "2025-07-31"}


def t(text):
    return datetime.fromisoformat(text)


def sess(sid, uid, start, exit=None, medium="(none)", source="(direct)",
         campaign=None, content=None, term=None, landing_page=None):
    started = t(start)
    return {"session_id": sid, "user_id": uid, "started_at": started,
            "exited_at": None if exit is None else started + timedelta(seconds=exit),
            "landing_page": landing_page, "source": source, "medium": medium,
            "campaign": campaign, "content": content, "term": term}


def conv(cid, sid, at, page=None, meta_type=None, meta_id=None):
    return {"conversion_id": cid, "session_id": sid, "converted_at": t(at),
            "conversion_page": page, "meta_type": meta_type, "meta_id": meta_id}


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
