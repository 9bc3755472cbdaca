"""Tests for the demo generator: raw SPEC 1 tables that are valid, deterministic and realistic.

The checks read the raw columns (plain pyarrow and Python, no loader), so they
hold whatever the store does with the data. Only the channel-group checks derive
each session's source and medium (docs/data.md#source-and-medium) and group
(docs/data.md#channel-groups), with the product's own rules, to show the demo
gives every group something to show.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from insights_core.channel_groups import ChannelGroupRules
from insights_core.channels import KnownHosts
from insights_core.ingest.derive import derive_source_medium
from insights_core.demo import DemoData, generate_demo
from insights_core.vocabulary import CHANNEL_GROUPS, PAID_CLICK_IDS

pytestmark = pytest.mark.filterwarnings("error::RuntimeWarning")  # an overflow in the vectorised maths is a bug

END = datetime(2025, 6, 30, 12, 0, tzinfo=timezone.utc)  # a Monday, noon
USERS = 2_000
TRAFFIC_USERS = 20_000  # about 650 sessions a day: enough for day-by-day shape checks
TIMESTAMP = pa.timestamp("us", tz="UTC")
VALUE = pa.decimal128(12, 2)


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return generate_demo(users=USERS, seed=7, end=END)


@pytest.fixture(scope="module")
def sessions(demo: DemoData) -> list[dict]:
    return demo.sessions.to_pylist()


@pytest.fixture(scope="module")
def conversions(demo: DemoData) -> list[dict]:
    return demo.conversions.to_pylist()


@pytest.fixture(scope="module")
def first_conversion_at(sessions: list[dict], conversions: list[dict]) -> dict[str, datetime]:
    """Earliest converted_at per user (a conversion's user is its session's user, SPEC 1.2)."""
    user_of = {s["session_id"]: s["user_id"] for s in sessions}
    first: dict[str, datetime] = {}
    for c in conversions:
        user = user_of[c["session_id"]]
        first[user] = min(first.get(user, c["converted_at"]), c["converted_at"])
    return first


@pytest.fixture(scope="module")
def traffic() -> DemoData:
    return generate_demo(users=TRAFFIC_USERS, seed=5, end=END)


@pytest.fixture(scope="module")
def daily(traffic: DemoData) -> dict[date, int]:
    """Sessions started per UTC day, today (END's day, half over) included."""
    return dict(sorted(Counter(at.date() for at in traffic.sessions["started_at"].to_pylist()).items()))


@pytest.fixture(scope="module")
def groups(sessions: list[dict]) -> dict[str, str]:
    """Each session's channel group, from its derived and tagged source and medium."""
    hosts, rules = KnownHosts.shipped(), ChannelGroupRules.shipped()
    return {s["session_id"]: rules.group_of(*_source_medium(s, hosts), hosts) for s in sessions}


def _source_medium(session: dict, hosts: KnownHosts) -> tuple[str, str]:
    """The effective source and medium (docs/data.md#source-and-medium): derived, then UTM tags win."""
    query = _query(session["landing_page"])
    click_id = next((name for name in PAID_CLICK_IDS if name in query), None)
    referrer = urlsplit(session["referrer"]).hostname if session["referrer"] else None
    source, medium = derive_source_medium(referrer, urlsplit(session["landing_page"]).hostname, click_id, hosts)
    return _utm(session, "utm_source") or source, _utm(session, "utm_medium") or medium


def _query(url: str | None) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query) if url else {}


def _utm(session: dict, field: str) -> str | None:
    """The UTM value as SPEC 1.1 reads it: the column, else the landing-page query string."""
    return session[field] or next(iter(_query(session["landing_page"]).get(field, [])), None)


def _first_sessions(sessions: list[dict]) -> dict[str, dict]:
    """Each user's first session in SPEC 3.3 order (started_at, then session_id)."""
    first: dict[str, dict] = {}
    for s in sorted(sessions, key=lambda s: (s["started_at"], s["session_id"])):
        first.setdefault(s["user_id"], s)
    return first


# --- determinism -------------------------------------------------------------------------


def test_same_arguments_give_identical_tables(demo: DemoData) -> None:
    again = generate_demo(users=USERS, seed=7, end=END)
    assert again.sessions.equals(demo.sessions)
    assert again.conversions.equals(demo.conversions)


def test_different_seed_gives_different_tables(demo: DemoData) -> None:
    other = generate_demo(users=USERS, seed=8, end=END)
    assert not other.sessions.equals(demo.sessions)
    assert not other.conversions.equals(demo.conversions)


def test_naive_end_is_read_as_utc(demo: DemoData) -> None:
    naive = generate_demo(users=USERS, seed=7, end=END.replace(tzinfo=None))
    assert naive.sessions.equals(demo.sessions)


def test_users_must_be_positive() -> None:
    with pytest.raises(ValueError):
        generate_demo(users=0)


# --- schema ------------------------------------------------------------------------------


def test_sessions_schema_has_spec_1_1_columns_in_order(demo: DemoData) -> None:
    strings = ["landing_page", "referrer", "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"]
    expected = pa.schema(
        [("session_id", pa.string()), ("user_id", pa.string()),
         ("started_at", TIMESTAMP), ("exited_at", TIMESTAMP)]
        + [(name, pa.string()) for name in strings]
    )
    assert demo.sessions.schema == expected


def test_conversions_schema_has_spec_1_2_columns_in_order(demo: DemoData) -> None:
    expected = pa.schema([
        ("conversion_id", pa.string()), ("session_id", pa.string()), ("converted_at", TIMESTAMP),
        ("conversion_page", pa.string()), ("meta_type", pa.string()), ("meta_id", pa.string()),
        ("value", VALUE),
    ])
    assert demo.conversions.schema == expected


def test_ids_have_their_formats(demo: DemoData) -> None:
    for column, pattern in (
        (demo.sessions["session_id"], r"^s\d{7}$"),
        (demo.sessions["user_id"], r"^u\d{6}$"),
        (demo.conversions["conversion_id"], r"^c\d{7}$"),
    ):
        assert pc.all(pc.match_substring_regex(column, pattern)).as_py(), pattern


# --- SPEC 1.3 validity -------------------------------------------------------------------


def test_spec_1_3_ids_are_unique(demo: DemoData) -> None:
    """SPEC 1.3: a duplicate session_id or conversion_id fails the load."""
    assert len(pc.unique(demo.sessions["session_id"])) == demo.sessions.num_rows
    assert len(pc.unique(demo.conversions["conversion_id"])) == demo.conversions.num_rows


def test_spec_1_3_required_values_are_present(demo: DemoData) -> None:
    """SPEC 1.3: a missing required value (SPEC 1.1 / 1.2 "required: yes") fails the load."""
    for table, names in (
        (demo.sessions, ("session_id", "user_id", "started_at")),
        (demo.conversions, ("conversion_id", "session_id", "converted_at")),
    ):
        for name in names:
            assert table[name].null_count == 0, name


def test_spec_1_3_exit_is_never_before_start(demo: DemoData) -> None:
    """SPEC 1.3: exited_at < started_at fails the load."""
    backwards = pc.less(demo.sessions["exited_at"], demo.sessions["started_at"])
    assert not pc.any(backwards).as_py()


def test_spec_1_3_every_conversion_session_exists(demo: DemoData) -> None:
    """SPEC 1.3: a conversion of an unknown session fails the load."""
    known = pc.is_in(demo.conversions["session_id"], value_set=demo.sessions["session_id"])
    assert pc.all(known).as_py()


def test_spec_1_3_conversions_happen_inside_their_session(
    sessions: list[dict], conversions: list[dict]
) -> None:
    """SPEC 1.3: a conversion before its session start fails the load; it also ends by the exit."""
    by_id = {s["session_id"]: s for s in sessions}
    for c in conversions:
        session = by_id[c["session_id"]]
        assert c["converted_at"] >= session["started_at"], c
        assert session["exited_at"] is None or c["converted_at"] <= session["exited_at"], c


# --- the 90-day window -------------------------------------------------------------------


def test_nothing_happens_after_end(demo: DemoData) -> None:
    for column in (demo.sessions["started_at"], demo.sessions["exited_at"], demo.conversions["converted_at"]):
        assert pc.max(column).as_py() <= END


def test_nothing_starts_before_the_90_day_window(demo: DemoData) -> None:
    assert pc.min(demo.sessions["started_at"]).as_py() >= END - timedelta(days=90)


def test_data_spreads_over_the_window(demo: DemoData) -> None:
    started = demo.sessions["started_at"]
    assert pc.min(started).as_py() < END - timedelta(days=80)
    assert pc.max(started).as_py() > END - timedelta(days=2)


def test_end_defaults_to_now() -> None:
    before = datetime.now(timezone.utc)
    data = generate_demo(users=200)
    after = datetime.now(timezone.utc)
    assert pc.max(data.sessions["exited_at"]).as_py() <= after
    assert pc.min(data.sessions["started_at"]).as_py() >= before - timedelta(days=90)
    assert pc.max(data.sessions["started_at"]).as_py() > before - timedelta(days=10)


# --- traffic over time: steady up to now, weekly and daily rhythm, gentle growth ---------


def _weeks_back(daily: dict[date, int], count: int) -> list[int]:
    """Sessions in each of the last `count` whole weeks, oldest first, the last one ending yesterday."""
    yesterday = END.date() - timedelta(days=1)
    return [
        sum(daily.get(yesterday - timedelta(days=7 * week + day), 0) for day in range(7))
        for week in reversed(range(count))
    ]


def test_the_last_four_weeks_are_steady(daily: dict[date, int]) -> None:
    """Journeys still going on at the end are cut there, not squeezed in: no thinning out."""
    weeks = _weeks_back(daily, 4)
    mean = statistics.mean(weeks)
    assert all(abs(week - mean) <= 0.10 * mean for week in weeks), weeks


def test_yesterday_is_like_the_same_weekday_before(daily: dict[date, int]) -> None:
    yesterday = END.date() - timedelta(days=1)
    before = [daily[yesterday - timedelta(days=7 * weeks)] for weeks in (1, 2, 3)]
    assert daily[yesterday] >= 0.85 * statistics.mean(before), (daily[yesterday], before)


def test_the_last_days_are_not_below_the_median_day(daily: dict[date, int]) -> None:
    """Each of the last 3 whole days is within the usual range of its own weekday over the window."""
    whole_days = list(daily)[1:-1]  # the window's first and last days are partial
    for back in (1, 2, 3):
        day = END.date() - timedelta(days=back)
        same_weekday = [daily[d] for d in whole_days if d.weekday() == day.weekday()]
        assert daily[day] >= 0.85 * statistics.median(same_weekday), (day, daily[day], same_weekday)


def test_the_first_days_of_the_window_are_not_thin(daily: dict[date, int]) -> None:
    """Visitors who came before the window return inside it: its first week is a week like the next."""
    days = list(daily.values())[1:]  # after the partial first day
    first, second, third = (sum(days[7 * week:7 * week + 7]) for week in range(3))
    assert first >= 0.9 * statistics.mean((second, third)), (first, second, third)


def test_today_is_a_partial_day(daily: dict[date, int]) -> None:
    today = daily[END.date()]
    last_mondays = [daily[END.date() - timedelta(days=7 * weeks)] for weeks in (1, 2, 3)]
    assert 0.2 * statistics.mean(last_mondays) <= today <= 0.7 * statistics.mean(last_mondays)


def test_weekdays_are_busier_than_weekends(daily: dict[date, int]) -> None:
    whole_days = list(daily.items())[1:-1]
    midweek = statistics.mean(n for day, n in whole_days if day.weekday() in (1, 2, 3))
    weekend = statistics.mean(n for day, n in whole_days if day.weekday() >= 5)
    assert midweek >= 1.4 * weekend


def test_afternoons_in_utc_are_busier_than_nights(traffic: DemoData) -> None:
    hours = Counter(at.hour for at in traffic.sessions["started_at"].to_pylist())
    assert sum(hours[h] for h in (13, 14, 15)) >= 2.5 * sum(hours[h] for h in (2, 3, 4))


def test_traffic_grows_gently(daily: dict[date, int]) -> None:
    days = list(daily.values())[1:-1]
    first, last = sum(days[:28]), sum(days[-28:])
    assert 1.02 * first <= last <= 1.30 * first, (first, last)


def test_sessions_of_a_user_never_overlap(traffic: DemoData) -> None:
    by_user = defaultdict(list)
    for row in traffic.sessions.select(["user_id", "started_at", "exited_at"]).to_pylist():
        by_user[row["user_id"]].append((row["started_at"], row["exited_at"]))
    for visits in by_user.values():
        visits.sort()
        for (_, exited), (started, _) in zip(visits, visits[1:]):
            assert exited is None or exited <= started


def test_every_user_has_a_session_and_users_are_numbered_densely(traffic: DemoData) -> None:
    users = set(traffic.sessions["user_id"].to_pylist())
    assert users == {f"u{n:06d}" for n in range(1, TRAFFIC_USERS + 1)}


# --- channel groups ---------------------------------------------------------------------


def test_every_channel_group_occurs(groups: dict[str, str]) -> None:
    counts = Counter(groups.values())
    assert set(counts) == set(CHANNEL_GROUPS), set(CHANNEL_GROUPS) - set(counts)
    share = {group: n / len(groups) for group, n in counts.items()}
    assert 0.001 <= share["Unassigned"] <= 0.02, "a few, not many"
    for group in ("Direct", "Organic Search", "Paid Search"):
        assert share[group] >= 0.08, group


def test_every_channel_group_touches_a_conversion(
    sessions: list[dict], conversions: list[dict], groups: dict[str, str]
) -> None:
    """Every group appears in some converting journey at or before its conversion, so attribution credits it."""
    converted_at = defaultdict(list)
    user_of = {s["session_id"]: s["user_id"] for s in sessions}
    for c in conversions:
        converted_at[user_of[c["session_id"]]].append(c["converted_at"])
    touching = {
        groups[s["session_id"]] for s in sessions
        if s["user_id"] in converted_at and s["started_at"] <= max(converted_at[s["user_id"]])
    }
    assert touching == set(CHANNEL_GROUPS)


def test_many_converting_journeys_cross_channel_groups(
    sessions: list[dict], conversions: list[dict], first_conversion_at: dict[str, datetime],
    groups: dict[str, str],
) -> None:
    before = defaultdict(set)
    for s in sessions:
        user = s["user_id"]
        if user in first_conversion_at and s["started_at"] <= first_conversion_at[user]:
            before[user].add(groups[s["session_id"]])
    multi = sum(len(path) >= 2 for path in before.values())
    assert multi / len(before) >= 0.2
    assert max(len(path) for path in before.values()) >= 4


# --- conversion values ------------------------------------------------------------------


def test_conversions_carry_values_by_type(conversions: list[dict]) -> None:
    values = defaultdict(list)
    for c in conversions:
        values[c["meta_id"]].append(c["value"])
    valued = [v for c in conversions if (v := c["value"]) is not None]
    assert all(v >= 0 for v in valued)
    assert 0.03 <= 1 - len(valued) / len(conversions) <= 0.30, "some conversions have no value"
    assert set(values["newsletter-form"]) == {None}, "a newsletter sign-up is worth nothing set"
    upgrades = {v for v in values["plan_upgraded"] if v is not None}
    assert len(upgrades) >= 4, "orders of several plans"
    assert upgrades <= {Decimal(p) for p in ("49.00", "99.00", "299.00", "470.40", "950.40", "2870.40")}
    assert Counter(values["signup-form"]).most_common(1)[0][0] == Decimal("20.00")
    assert statistics.mean(upgrades) > 10 * Decimal("20.00")


# --- realism: raw fields -----------------------------------------------------------------


def test_a_share_of_landing_pages_carries_gclid(sessions: list[dict]) -> None:
    share = sum("gclid" in _query(s["landing_page"]) for s in sessions) / len(sessions)
    assert 0.05 <= share <= 0.40


def test_click_ids_of_bing_and_facebook_occur(sessions: list[dict]) -> None:
    params = Counter(name for s in sessions for name in _query(s["landing_page"]))
    assert params["msclkid"] > 0
    assert params["fbclid"] > 0


def test_utm_values_sit_in_columns_in_the_query_string_or_both(sessions: list[dict]) -> None:
    """SPEC 1.1 reads utm_* from the landing page when the column is empty: all placements occur."""
    placements = Counter(
        (s["utm_source"] is not None, "utm_source" in _query(s["landing_page"])) for s in sessions
    )
    assert placements[(False, True)] > 0, "query string only"
    assert placements[(True, False)] > 0, "column only"
    assert placements[(True, True)] > 0, "both"


def test_query_string_utm_is_url_encoded(sessions: list[dict]) -> None:
    terms = {_utm(s, "utm_term") for s in sessions if "utm_term" in _query(s["landing_page"])}
    assert "analytics software" in terms or "attribution tool" in terms
    assert not any(" " in (s["landing_page"] or "") for s in sessions)


def test_campaign_content_and_term_are_filled_for_paid_sessions(sessions: list[dict]) -> None:
    campaigns = Counter(_utm(s, "utm_campaign") for s in sessions)
    assert {"spring_sale", "brand", "retargeting", "webinar_q3"} <= set(campaigns)
    assert {"banner_a", "banner_b", "text_ad"} <= {_utm(s, "utm_content") for s in sessions}
    assert sum(_utm(s, "utm_term") is not None for s in sessions) > 0


def test_referrers_cover_search_social_email_ai_and_referral(sessions: list[dict]) -> None:
    hosts = Counter(urlsplit(s["referrer"]).hostname for s in sessions if s["referrer"])
    expected = {
        "www.google.com", "www.google.co.uk", "www.bing.com", "duckduckgo.com",  # search
        "l.facebook.com", "t.co", "www.linkedin.com", "news.ycombinator.com",  # social
        "mail.google.com",  # webmail
        "chatgpt.com", "www.perplexity.ai",  # AI assistants
        "blog.example.org", "www.g2.com",  # referral
    }
    assert expected <= set(hosts)
    assert sum(s["referrer"] is None for s in sessions) > 0


def test_email_tags_live_mostly_in_the_landing_page(sessions: list[dict]) -> None:
    """Email UTM comes mostly from the query string, so a loader must read the URL (SPEC 1.1)."""
    email = [s for s in sessions if _utm(s, "utm_medium") == "email"]
    assert email
    assert sum(s["utm_medium"] is None for s in email) / len(email) > 0.5


def test_some_sessions_have_no_exit(demo: DemoData) -> None:
    share = demo.sessions["exited_at"].null_count / demo.sessions.num_rows
    assert 0.05 <= share <= 0.15


def test_session_lengths_range_from_seconds_to_about_half_an_hour(sessions: list[dict]) -> None:
    lengths = [(s["exited_at"] - s["started_at"]).total_seconds() for s in sessions if s["exited_at"]]
    assert 20 <= statistics.median(lengths) <= 300
    assert min(lengths) < 10
    assert 1_200 <= max(lengths) <= 3_600


# --- realism: journeys and conversions ---------------------------------------------------


def test_users_with_one_and_with_several_sessions_exist(sessions: list[dict]) -> None:
    per_user = Counter(s["user_id"] for s in sessions)
    counts = Counter(per_user.values())
    assert counts[1] > 0
    assert sum(n for size, n in counts.items() if size >= 4) > 0
    assert max(per_user.values()) <= 8
    assert 2.0 <= len(sessions) / len(per_user) <= 4.0


def test_user_conversion_rate_is_between_15_and_40_percent(
    sessions: list[dict], first_conversion_at: dict[str, datetime]
) -> None:
    users = {s["user_id"] for s in sessions}
    assert 0.15 <= len(first_conversion_at) / len(users) <= 0.40


def test_all_three_meta_types_occur_with_several_ids(conversions: list[dict]) -> None:
    ids = defaultdict(set)
    for c in conversions:
        ids[c["meta_type"]].add(c["meta_id"])
    assert set(ids) == {"hubspot_form", "custom", "html_form"}
    assert all(len(meta_ids) >= 2 for meta_ids in ids.values())
    assert "trial_started" in ids["custom"]


def test_conversion_pages_fit_the_site(conversions: list[dict]) -> None:
    pages = {c["conversion_page"] for c in conversions}
    assert all(page.startswith("https://www.acme-analytics.com/") for page in pages)
    assert {"https://www.acme-analytics.com/demo", "https://www.acme-analytics.com/signup"} <= pages


def test_some_sessions_hold_two_conversions(conversions: list[dict]) -> None:
    per_session = Counter(c["session_id"] for c in conversions)
    assert sum(n == 2 for n in per_session.values()) > 0


def test_some_users_convert_again_in_a_later_session(
    sessions: list[dict], conversions: list[dict]
) -> None:
    user_of = {s["session_id"]: s["user_id"] for s in sessions}
    converting_sessions = defaultdict(set)
    for c in conversions:
        converting_sessions[user_of[c["session_id"]]].add(c["session_id"])
    assert sum(len(ids) >= 2 for ids in converting_sessions.values()) > 0


def test_paid_search_first_sessions_often_convert_in_the_same_session(
    sessions: list[dict], conversions: list[dict]
) -> None:
    converting = {c["session_id"] for c in conversions}
    paid = [s for s in _first_sessions(sessions).values() if "gclid" in _query(s["landing_page"])]
    assert paid
    assert sum(s["session_id"] in converting for s in paid) / len(paid) >= 0.25


def test_paid_search_users_mostly_convert_within_a_day(
    sessions: list[dict], first_conversion_at: dict[str, datetime]
) -> None:
    first = _first_sessions(sessions)
    paid = [
        user for user, s in first.items()
        if "gclid" in _query(s["landing_page"]) and user in first_conversion_at
    ]
    fast = [user for user in paid if first_conversion_at[user] - first[user]["started_at"] < timedelta(days=1)]
    assert len(fast) / len(paid) >= 0.7
    slow = [user for user, at in first_conversion_at.items() if at - first[user]["started_at"] >= timedelta(days=7)]
    assert slow, "other channels also produce 7+ day conversions"


def test_email_shows_up_mostly_after_a_first_conversion(
    sessions: list[dict], first_conversion_at: dict[str, datetime]
) -> None:
    email = [s for s in sessions if _utm(s, "utm_medium") == "email"]
    after = [
        s for s in email
        if s["user_id"] in first_conversion_at and s["started_at"] > first_conversion_at[s["user_id"]]
    ]
    assert len(after) / len(email) > 0.5


def test_organic_search_assists_before_a_later_conversion(
    sessions: list[dict], conversions: list[dict], first_conversion_at: dict[str, datetime]
) -> None:
    """Organic search sessions sit between first session and first conversion (SPEC 3.3 assist)."""
    first = _first_sessions(sessions)
    converting = {c["session_id"] for c in conversions}
    organic_hosts = {"www.google.com", "www.google.co.uk", "www.bing.com", "duckduckgo.com"}
    assists = [
        s for s in sessions
        if s["referrer"] and urlsplit(s["referrer"]).hostname in organic_hosts
        and not _query(s["landing_page"])
        and s["user_id"] in first_conversion_at
        and s["session_id"] not in converting
        and first[s["user_id"]]["started_at"] < s["started_at"] < first_conversion_at[s["user_id"]]
    ]
    assert len(assists) >= 20
