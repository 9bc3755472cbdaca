"""docs/metrics.md#parameters and #window: parsing and validating the request parameters.

Every expected value below is worked out by hand from docs/metrics.md#window (a date-only
start is 00:00:00 UTC, a date-only end is 23:59:59.999999 UTC, offsets are
converted to UTC, the default window is the 30 days up to now); the arithmetic
is in the comments. Windows are naive datetimes in UTC.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insights_core.params import (
    AttributionParams,
    BreakdownParams,
    InsightsParams,
    ParameterError,
    TimeseriesParams,
    bucket_count,
    parameter_from_text,
    parse_attribution_params,
    parse_breakdown_params,
    parse_params,
    parse_timeseries_params,
)

NOW = datetime(2025, 7, 15, 12, 30, 0, tzinfo=timezone.utc)
FILTERS = (
    "conversion_page", "meta_type", "meta_id",
    "source", "medium", "campaign", "content", "term", "landing_page", "channel", "channel_group",
)
PARAMETERS = ("start_date", "end_date", *FILTERS, "touch_scope")
TOUCH_SCOPES = ("any", "first", "converting", "assist", "after")
OWN_PARAMETERS = {  # each endpoint's parameters beyond the shared ones (docs/metrics.md#attribution, #trend, #breakdown)
    "insights": (),
    "attribution": ("lookback_days", "half_life_days", "conversions", "top_paths"),
    "timeseries": ("interval",),
    "breakdown": ("dimension", "limit"),
}
PARSERS = {
    "insights": parse_params,
    "attribution": parse_attribution_params,
    "timeseries": parse_timeseries_params,
    "breakdown": parse_breakdown_params,
}
MINIMAL = {"insights": {}, "attribution": {}, "timeseries": {}, "breakdown": {"dimension": "campaign"}}
"""The smallest valid body of each endpoint (breakdown requires a dimension)."""


def window(body: dict) -> tuple[datetime, datetime]:
    params = parse_params(body, now=NOW)
    return params.start, params.end


def rejected(body, field: str | None) -> ParameterError:
    """Parse ``body``, expecting a ParameterError for ``field``; return it."""
    with pytest.raises(ParameterError) as caught:
        parse_params(body, now=NOW)
    assert caught.value.field == field, str(caught.value)
    return caught.value


# --- docs/metrics.md#window: defaults ---------------------------------------------------------

def test_default_window_is_the_30_days_up_to_now():
    """docs/metrics.md#window: end_date defaults to now (UTC), start_date to end_date - 30 days."""
    # 2025-07-15 12:30 minus 30 days: 15 days back is 2025-06-30, 15 more is 2025-06-15.
    assert window({}) == (datetime(2025, 6, 15, 12, 30), datetime(2025, 7, 15, 12, 30))


def test_default_window_from_an_aware_non_utc_now():
    """docs/metrics.md#window: now is taken in UTC: 14:30 at +02:00 is 12:30 UTC."""
    now = datetime(2025, 7, 15, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    params = parse_params({}, now=now)
    assert (params.start, params.end) == (datetime(2025, 6, 15, 12, 30), datetime(2025, 7, 15, 12, 30))


def test_default_end_is_the_real_now():
    """docs/metrics.md#window: without ``now`` pinned, end_date is the current UTC time."""
    before = datetime.now(timezone.utc).replace(tzinfo=None)
    params = parse_params({})
    after = datetime.now(timezone.utc).replace(tzinfo=None)
    assert before <= params.end <= after
    assert params.end - params.start == timedelta(days=30)


def test_only_end_given_start_is_30_days_before():
    """docs/metrics.md#window: start_date = end_date - 30 days, from the given end."""
    # End 2025-07-31 means 23:59:59.999999; 30 days before is 2025-07-01 at the same time.
    assert window({"end_date": "2025-07-31"}) == (
        datetime(2025, 7, 1, 23, 59, 59, 999999),
        datetime(2025, 7, 31, 23, 59, 59, 999999),
    )
    # 2025-03-10T08:00:00+01:00 is 07:00 UTC. 30 days back crosses February (28 days):
    # March 10 - 9 days = March 1, - 1 more = Feb 28, - 20 more = Feb 8, at 07:00.
    assert window({"end_date": "2025-03-10T08:00:00+01:00"}) == (
        datetime(2025, 2, 8, 7, 0),
        datetime(2025, 3, 10, 7, 0),
    )


def test_only_start_given_end_is_now():
    """docs/metrics.md#window: with only start_date, the window runs from it to now."""
    assert window({"start_date": "2025-01-01"}) == (datetime(2025, 1, 1), datetime(2025, 7, 15, 12, 30))


# --- docs/metrics.md#window: dates and datetimes ----------------------------------------------

def test_date_only_covers_whole_days_in_utc():
    """docs/metrics.md#parameters: a date start is 00:00:00 UTC, a date end is 23:59:59.999999 UTC."""
    assert window({"start_date": "2025-07-01", "end_date": "2025-07-31"}) == (
        datetime(2025, 7, 1, 0, 0, 0),
        datetime(2025, 7, 31, 23, 59, 59, 999999),
    )


def test_same_date_for_start_and_end_is_one_whole_day():
    """docs/metrics.md#window: start and end on the same date is that day, 00:00 to 23:59:59.999999."""
    assert window({"start_date": "2024-02-29", "end_date": "2024-02-29"}) == (
        datetime(2024, 2, 29, 0, 0, 0),
        datetime(2024, 2, 29, 23, 59, 59, 999999),
    )


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        pytest.param("2025-07-01T10:00:00Z", datetime(2025, 7, 1, 10, 0), id="Z"),
        pytest.param("2025-07-01T10:00:00+00:00", datetime(2025, 7, 1, 10, 0), id="plus-zero"),
        # 10:00 at UTC+2 is 08:00 UTC.
        pytest.param("2025-07-01T10:00:00+02:00", datetime(2025, 7, 1, 8, 0), id="plus-two"),
        # 00:30 at UTC+2 is 22:30 UTC the day before.
        pytest.param("2025-07-01T00:30:00+02:00", datetime(2025, 6, 30, 22, 30), id="plus-two-previous-day"),
        # 22:30 at UTC-5 is 03:30 UTC the next day.
        pytest.param("2025-07-01T22:30:00-05:00", datetime(2025, 7, 2, 3, 30), id="minus-five-next-day"),
        # 12:00 at UTC+05:30 is 06:30 UTC.
        pytest.param("2025-07-01T12:00:00+05:30", datetime(2025, 7, 1, 6, 30), id="half-hour-offset"),
        # No offset: already UTC.
        pytest.param("2025-07-01T10:00:00", datetime(2025, 7, 1, 10, 0), id="no-offset-is-utc"),
        pytest.param("2025-07-01T10:00:00.123456Z", datetime(2025, 7, 1, 10, 0, 0, 123456), id="microseconds"),
        # 10:00:00.5 at UTC+1 is 09:00:00.500000 UTC.
        pytest.param("2025-07-01T10:00:00.5+01:00", datetime(2025, 7, 1, 9, 0, 0, 500000), id="tenths-offset"),
        pytest.param("2025-07-01T10:00:00.250", datetime(2025, 7, 1, 10, 0, 0, 250000), id="millis-no-offset"),
        pytest.param("2025-07-01T10:15Z", datetime(2025, 7, 1, 10, 15), id="no-seconds"),
    ],
)
@pytest.mark.parametrize("name", ["start_date", "end_date"])
def test_datetimes_are_converted_to_utc(name, text, utc):
    """docs/metrics.md#window: an ISO 8601 datetime with an offset is converted to UTC; without an
    offset it is UTC; fractional seconds are kept."""
    other = {"start_date": "end_date", "end_date": "start_date"}[name]
    body = {name: text, other: "2025-01-01" if name == "end_date" else "2025-12-31"}
    start, end = window(body)
    assert (start if name == "start_date" else end) == utc


def test_offsets_decide_the_order_of_start_and_end():
    """docs/metrics.md#window: start and end are compared after conversion to UTC."""
    # 10:00+02:00 is 08:00 UTC, before the 09:00 UTC end: fine.
    assert window({"start_date": "2025-07-01T10:00:00+02:00", "end_date": "2025-07-01T09:00:00Z"}) == (
        datetime(2025, 7, 1, 8, 0),
        datetime(2025, 7, 1, 9, 0),
    )
    # 10:00-02:00 is 12:00 UTC, after the 11:00 UTC end: an error naming start_date.
    rejected({"start_date": "2025-07-01T10:00:00-02:00", "end_date": "2025-07-01T11:00:00Z"}, "start_date")


def test_start_equal_to_end_is_allowed():
    """docs/metrics.md#window: only start after end is an error; the same instant is a valid window."""
    # 10:00Z and 12:00+02:00 are the same instant.
    assert window({"start_date": "2025-07-01T10:00:00Z", "end_date": "2025-07-01T12:00:00+02:00"}) == (
        datetime(2025, 7, 1, 10, 0),
        datetime(2025, 7, 1, 10, 0),
    )


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"start_date": "2025-07-02", "end_date": "2025-07-01"}, id="dates"),
        pytest.param({"start_date": "2025-07-01T10:00:00.000001Z", "end_date": "2025-07-01T10:00:00Z"}, id="1-us"),
        # 2025-07-02 00:00 start vs end 2025-07-01T23:59:59.999999 from the date-only end.
        pytest.param({"start_date": "2025-07-02", "end_date": "2025-07-01T23:59:59Z"}, id="date-vs-datetime"),
        # The default end is now (2025-07-15 12:30 UTC); a start after it is an error.
        pytest.param({"start_date": "2025-08-01"}, id="start-after-default-end"),
        pytest.param({"start_date": "2025-07-15T12:30:00.000001Z"}, id="just-after-now"),
    ],
)
def test_start_after_end_names_start_date(body):
    """docs/metrics.md#window: start_date after end_date is an error naming start_date."""
    rejected(body, "start_date")


@pytest.mark.parametrize(
    "text",
    [
        "2025-02-30",              # February has no 30th
        "2025-02-29",              # 2025 is not a leap year
        "2025-13-01",              # no 13th month
        "2025-00-10",              # no month 0
        "2025-07-32",              # no 32nd day
        "2025-07-01T25:00:00",     # no hour 25
        "2025-07-01T10:60:00Z",    # no minute 60
        "2025-07-01T10:00:00+25:00",  # offsets stop below 24 hours
        "yesterday",
        "2025/07/01",
        "01/07/2025",
        "2025-7-1",
        "July 1, 2025",
        "2025-07-01TZ",
        " ",
    ],
)
@pytest.mark.parametrize("name", ["start_date", "end_date"])
def test_unparseable_dates_name_the_parameter(name, text):
    """docs/metrics.md#window: an unparseable date or datetime is an error naming the parameter."""
    error = rejected({name: text}, name)
    assert name in str(error)


# --- docs/metrics.md#parameters: "not given", unknown keys, types -----------------------------

@pytest.mark.parametrize("absent", [None, ""], ids=["null", "empty-string"])
@pytest.mark.parametrize("name", PARAMETERS)
def test_null_and_empty_string_mean_not_given(name, absent):
    """docs/metrics.md#parameters: null and "" mean "not given", for every parameter."""
    assert parse_params({name: absent}, now=NOW) == parse_params({}, now=NOW)


def test_nothing_given_is_the_default_parameters():
    """docs/metrics.md#parameters: all parameters are optional; filters are unset and touch_scope is any."""
    params = parse_params({}, now=NOW)
    assert params == InsightsParams(start=datetime(2025, 6, 15, 12, 30), end=datetime(2025, 7, 15, 12, 30))
    assert params.touch_scope == "any"
    assert all(getattr(params, name) is None for name in FILTERS)
    assert parse_params({name: None for name in PARAMETERS}, now=NOW) == params
    assert parse_params({name: "" for name in PARAMETERS}, now=NOW) == params


@pytest.mark.parametrize("name", FILTERS)
def test_filters_are_kept_exactly(name):
    """docs/metrics.md#parameters: session and conversion filters are exact, case-sensitive strings."""
    params = parse_params({name: " Google Ads/CPC "}, now=NOW)
    assert getattr(params, name) == " Google Ads/CPC "
    assert all(getattr(params, other) is None for other in FILTERS if other != name)


@pytest.mark.parametrize(
    "body",
    [
        {"sourec": "google.com"},
        {"Start_Date": "2025-07-01"},
        {"touchscope": "first"},
        {"lookback_days": None},
        {"channel_groups": "Paid Search"},
        {"utm_source": ""},
    ],
)
def test_unknown_key_is_named(body):
    """docs/metrics.md#parameters: an unknown key is an error naming it, whatever its value."""
    [key] = body
    error = rejected(body, key)
    assert key in str(error)


def test_several_unknown_keys_are_all_named():
    """docs/metrics.md#parameters: the error names every unknown key, and known ones do not hide them."""
    with pytest.raises(ParameterError) as caught:
        parse_params({"source": "google.com", "foo": 1, "bar": "x"}, now=NOW)
    assert caught.value.field in ("foo", "bar")
    assert "foo" in str(caught.value) and "bar" in str(caught.value)


@pytest.mark.parametrize(
    "value",
    [1, 0, 2.5, True, False, ["2025-07-01"], [], {"value": "x"}, {}],
    ids=["int", "zero", "float", "true", "false", "list", "empty-list", "object", "empty-object"],
)
@pytest.mark.parametrize("name", PARAMETERS)
def test_wrong_type_names_the_parameter(name, value):
    """docs/metrics.md#window: a value of the wrong type (number, boolean, array, object) is an
    error naming the parameter."""
    rejected({name: value}, name)


@pytest.mark.parametrize("body", [[], ["start_date"], "start_date=2025-07-01", 42, True],
                         ids=["empty-list", "list", "string", "number", "bool"])
def test_body_that_is_not_an_object(body):
    """docs/metrics.md#parameters: the request body is a JSON object; anything else is an error about the
    body as a whole (field None)."""
    rejected(body, None)


# --- docs/metrics.md#roles: touch_scope ---------------------------------------------------------

@pytest.mark.parametrize("scope", TOUCH_SCOPES)
def test_every_touch_scope_is_accepted(scope):
    """docs/metrics.md#parameters: touch_scope is one of any, first, converting, assist, after."""
    assert parse_params({"touch_scope": scope}, now=NOW).touch_scope == scope


@pytest.mark.parametrize("scope", ["ANY", "First", "first ", "all", "converted", "assists", "last"])
def test_bad_touch_scope_names_it(scope):
    """docs/metrics.md#parameters: any other touch_scope is an error naming touch_scope."""
    error = rejected({"touch_scope": scope}, "touch_scope")
    assert "touch_scope" in str(error)


# --- to_request round trip -------------------------------------------------------------------

instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31, 23, 59, 59, 999999))
filter_values = st.none() | st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20)


@st.composite
def insights_params(draw) -> InsightsParams:
    start, end = sorted((draw(instants), draw(instants)))
    filters = {name: draw(filter_values) for name in FILTERS}
    return InsightsParams(start=start, end=end, touch_scope=draw(st.sampled_from(TOUCH_SCOPES)), **filters)


@settings(max_examples=50)
@given(insights_params())
def test_to_request_round_trips(params):
    """docs/metrics.md#parameters: the explicit request body of a parameter object, sent as JSON and
    parsed again, gives an equal object."""
    body = params.to_request()
    assert parse_params(json.loads(json.dumps(body)), now=NOW) == params
    assert set(body) <= set(PARAMETERS)
    assert body["start_date"] and body["end_date"]


# --- the edges of the calendar and of Unicode (found by the API's fuzzing) ---

@pytest.mark.parametrize(
    "raw, field",
    [
        ({"end_date": "0001-01-01"}, "end_date"),                     # default start would be before year 1
        ({"end_date": "0001-01-01T00:00:00+01:00"}, "end_date"),      # UTC is in year 0
        ({"start_date": "9999-12-31T23:59:59-01:00"}, "start_date"),  # UTC is in year 10000
        ({"source": "\ud800"}, "source"),                             # a lone surrogate is not text
    ],
)
def test_out_of_range_values_are_parameter_errors(raw, field):
    """docs/metrics.md#window: an unusable value is a 400 naming the parameter, never a crash."""
    with pytest.raises(ParameterError) as caught:
        parse_params(raw, now=NOW)
    assert caught.value.field == field


# --- channel and channel_group (docs/metrics.md#session-filters) --------------------------------

def test_channel_filters_are_session_filters_in_the_documented_order():
    """channel and channel_group are session filters, kept exactly and written back in order."""
    params = parse_params({"channel_group": "Paid Search", "channel": "cpc/google.com", "source": "google.com"}, now=NOW)
    assert params.session_filters() == {
        "source": "google.com", "channel": "cpc/google.com", "channel_group": "Paid Search"}
    assert params.conversion_filters() == {}
    assert list(params.to_request()) == ["start_date", "end_date", "source", "channel", "channel_group"]


# --- every endpoint: its own keys, and the others' keys are unknown -----------------------------

OTHER_KEYS = [
    (endpoint, key)
    for endpoint in PARSERS
    for other, keys in OWN_PARAMETERS.items() if other != endpoint
    for key in keys
]


@pytest.mark.parametrize(("endpoint", "key"), OTHER_KEYS, ids=[f"{e}-{k}" for e, k in OTHER_KEYS])
def test_an_endpoint_refuses_the_other_endpoints_keys(endpoint, key):
    """A parameter of /attribution is an unknown key on /insights (and so on), whatever its value,
    and the message says where it belongs."""
    for value in (None, "", "x", 5):
        with pytest.raises(ParameterError) as caught:
            PARSERS[endpoint]({**MINIMAL[endpoint], key: value}, now=NOW)
        assert caught.value.field == key
        message = str(caught.value)
        assert f"unknown parameter for /{endpoint}: {key}" in message
        assert "is a parameter of /" in message


@pytest.mark.parametrize("endpoint", PARSERS)
def test_every_endpoint_shares_the_insights_parameters(endpoint):
    """Window, filters and touch_scope mean the same on every endpoint (docs/metrics.md#parameters)."""
    body = {"start_date": "2025-07-01", "end_date": "2025-07-31", "channel": "organic/google.com",
            "meta_type": "custom", "touch_scope": "assist"}
    parsed = PARSERS[endpoint]({**MINIMAL[endpoint], **body}, now=NOW)
    cohort = parsed if endpoint == "insights" else parsed.cohort
    assert cohort == parse_params(body, now=NOW)


@pytest.mark.parametrize("endpoint", PARSERS)
def test_every_endpoint_names_a_bad_shared_parameter(endpoint):
    """A bad shared parameter is the same error on every endpoint."""
    with pytest.raises(ParameterError) as caught:
        PARSERS[endpoint]({**MINIMAL[endpoint], "touch_scope": "last"}, now=NOW)
    assert caught.value.field == "touch_scope"


# --- /attribution (docs/metrics.md#attribution) ------------------------------------------------

def attribution(**body) -> AttributionParams:
    return parse_attribution_params(body, now=NOW)


def attribution_error(field: str, **body) -> str:
    with pytest.raises(ParameterError) as caught:
        parse_attribution_params(body, now=NOW)
    assert caught.value.field == field, str(caught.value)
    return str(caught.value)


def test_attribution_defaults():
    """lookback 90 days, half-life 7 days, each user's first conversion, the top 10 paths."""
    params = attribution()
    assert (params.lookback_days, params.half_life_days, params.conversions, params.top_paths) == (90, 7.0, "first", 10)
    assert params.cohort == parse_params({}, now=NOW)
    assert attribution(lookback_days=None, half_life_days="", conversions=None, top_paths="") == params


@pytest.mark.parametrize(("name", "low", "high"), [("lookback_days", 1, 365), ("top_paths", 1, 1000)])
def test_attribution_integers_take_their_whole_range(name, low, high):
    """Integers from low to high inclusive; one below or above is an error naming the parameter."""
    assert getattr(attribution(**{name: low}), name) == low
    assert getattr(attribution(**{name: high}), name) == high
    for outside in (low - 1, high + 1, -5):
        assert f"a whole number from {low:,} to {high:,}" in attribution_error(name, **{name: outside})


@pytest.mark.parametrize("name", ["lookback_days", "top_paths"])
def test_attribution_integers_are_json_integers(name):
    """A JSON number without a fraction counts (30 and 30.0, as JSON Schema's integer); a fraction,
    a string, a boolean, NaN or an infinity does not."""
    assert getattr(attribution(**{name: 30.0}), name) == 30
    assert type(getattr(attribution(**{name: 30.0}), name)) is int
    for bad, said in [(30.5, "30.5"), ("30", "a string"), (True, "a boolean"), (False, "a boolean"),
                      (float("nan"), "nan"), (float("inf"), "inf"), ([30], "an array"), ({"n": 30}, "an object")]:
        assert said in attribution_error(name, **{name: bad})


def test_half_life_is_a_number_above_zero_up_to_365():
    """0 < half_life_days <= 365, whole or not; kept as a float."""
    assert attribution(half_life_days=0.5).half_life_days == 0.5
    assert attribution(half_life_days=365).half_life_days == 365.0
    assert type(attribution(half_life_days=3).half_life_days) is float
    assert attribution(half_life_days=1e-9).half_life_days == 1e-9
    for bad in (0, 0.0, -1, 365.0001, 366, float("nan"), float("inf"), float("-inf"), True, "7"):
        attribution_error("half_life_days", half_life_days=bad)


def test_conversions_is_first_or_all():
    assert attribution(conversions="all").conversions == "all"
    assert attribution(conversions="first").conversions == "first"
    for bad in ("First", "ALL", "last", " all", 1):
        attribution_error("conversions", conversions=bad)


def test_a_huge_integer_gives_a_short_message():
    """A 4,000-digit lookback is out of range; the message does not repeat it (issue: 65 KB errors)."""
    message = attribution_error("lookback_days", lookback_days=10**4000)
    assert len(message) < 200
    assert "more than 180 digits" in message
    assert "12345678901234567890" in attribution_error("top_paths", top_paths=12345678901234567890)


# --- /timeseries (docs/metrics.md#trend) -------------------------------------------------------

def test_interval_defaults_to_day_and_takes_week_and_month():
    assert parse_timeseries_params({}, now=NOW) == TimeseriesParams(cohort=parse_params({}, now=NOW), interval="day")
    for interval in ("day", "week", "month"):
        assert parse_timeseries_params({"interval": interval}, now=NOW).interval == interval
    for bad in ("Day", "days", "year", "hour", 7):
        with pytest.raises(ParameterError) as caught:
            parse_timeseries_params({"interval": bad}, now=NOW)
        assert caught.value.field == "interval"


@pytest.mark.parametrize(
    ("interval", "start", "end", "buckets"),
    [
        # The default window 2025-06-15 12:30 .. 2025-07-15 12:30 touches June 15..30 (16 days) and July 1..15 (15).
        ("day", datetime(2025, 6, 15, 12, 30), datetime(2025, 7, 15, 12, 30), 31),
        ("day", datetime(2025, 7, 1), datetime(2025, 7, 1, 23, 59, 59, 999999), 1),
        # 2025-07-01 is a Tuesday: its week starts Monday 06-30; 07-14 is a Monday: weeks 06-30, 07-07, 07-14.
        ("week", datetime(2025, 7, 1), datetime(2025, 7, 14), 3),
        ("week", datetime(2025, 7, 7), datetime(2025, 7, 13, 23, 59), 1),   # Monday to Sunday: one week
        ("week", datetime(2025, 7, 6), datetime(2025, 7, 7), 2),            # Sunday, then Monday
        ("month", datetime(2025, 1, 31), datetime(2025, 3, 1), 3),          # January, February, March
        ("month", datetime(2024, 12, 15), datetime(2025, 1, 2), 2),         # across the year's end
        ("month", datetime(2025, 7, 1), datetime(2025, 7, 31, 23, 59), 1),
    ],
)
def test_bucket_count_counts_the_calendar_periods_the_window_touches(interval, start, end, buckets):
    assert bucket_count(interval, start, end) == buckets


def test_more_than_3700_buckets_is_an_error_naming_interval():
    """docs/metrics.md#trend: 3,700 buckets are fine, 3,701 are not.

    2000-01-01 + 3,653 days (ten years with the leap days of 2000, 2004, 2008) is 2010-01-01;
    46 more days is 2010-02-16: 3,699 days after the start, so 3,700 daily buckets.
    """
    fine = parse_timeseries_params({"start_date": "2000-01-01", "end_date": "2010-02-16"}, now=NOW)
    assert bucket_count("day", fine.cohort.start, fine.cohort.end) == 3700
    with pytest.raises(ParameterError) as caught:
        parse_timeseries_params({"start_date": "2000-01-01", "end_date": "2010-02-17"}, now=NOW)
    assert caught.value.field == "interval"
    assert "3,701 buckets" in str(caught.value) and "3,700" in str(caught.value)
    # The same window by week (about 528 weeks) or month (122 months) is fine.
    assert parse_timeseries_params({"start_date": "2000-01-01", "end_date": "2010-02-17", "interval": "week"},
                                   now=NOW).interval == "week"
    # 1950..2025 by week is about 3,900 weeks: too many; by month 907: fine.
    with pytest.raises(ParameterError):
        parse_timeseries_params({"start_date": "1950-01-01", "end_date": "2025-01-01", "interval": "week"}, now=NOW)
    parse_timeseries_params({"start_date": "1950-01-01", "end_date": "2025-07-01", "interval": "month"}, now=NOW)


# --- /breakdown (docs/metrics.md#breakdown) ----------------------------------------------------

DIMENSIONS = ("channel", "channel_group", "source", "medium", "campaign", "content", "term", "landing_page")


@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_every_dimension_is_accepted(dimension):
    params = parse_breakdown_params({"dimension": dimension}, now=NOW)
    assert params == BreakdownParams(cohort=parse_params({}, now=NOW), dimension=dimension, limit=100)


@pytest.mark.parametrize("body", [{}, {"dimension": None}, {"dimension": ""}, {"limit": 5}])
def test_dimension_is_required(body):
    with pytest.raises(ParameterError) as caught:
        parse_breakdown_params(body, now=NOW)
    assert caught.value.field == "dimension"
    assert "required" in str(caught.value) and "channel_group" in str(caught.value)


@pytest.mark.parametrize("dimension", ["Channel", "utm_campaign", "user_id", "meta_type", "touch_scope", 3])
def test_other_dimensions_are_refused(dimension):
    with pytest.raises(ParameterError) as caught:
        parse_breakdown_params({"dimension": dimension}, now=NOW)
    assert caught.value.field == "dimension"


def test_limit_is_a_whole_number_from_1_to_1000():
    assert parse_breakdown_params({"dimension": "source", "limit": 1}, now=NOW).limit == 1
    assert parse_breakdown_params({"dimension": "source", "limit": 1000}, now=NOW).limit == 1000
    for bad in (0, 1001, 2.5, "10", True):
        with pytest.raises(ParameterError) as caught:
            parse_breakdown_params({"dimension": "source", "limit": bad}, now=NOW)
        assert caught.value.field == "limit"


# --- parameters typed as text (command-line flags, URL query strings) -----------------------------

@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("lookback_days", "90", 90), ("lookback_days", "007", 7), ("top_paths", "1000", 1000),
        ("limit", "5", 5), ("half_life_days", "7", 7.0), ("half_life_days", "0.25", 0.25),
        ("lookback_days", "", ""), ("source", "90", "90"), ("touch_scope", " first", " first"),
    ],
)
def test_parameter_from_text(name, text, value):
    """Numeric parameters typed as text become numbers; text parameters stay text; "" stays "not given"."""
    assert parameter_from_text(name, text) == value
    assert type(parameter_from_text(name, text)) is type(value)


@pytest.mark.parametrize(
    ("name", "text"),
    [("lookback_days", "7.5"), ("lookback_days", "-1"), ("lookback_days", " 90"), ("lookback_days", "1e3"),
     ("lookback_days", "ninety"), ("top_paths", "+5"), ("limit", "0x10"), ("half_life_days", ".5"),
     ("half_life_days", "nan"), ("half_life_days", "inf"), ("lookback_days", "9" * 5000), ("limit", "٣")],
)
def test_text_that_is_not_a_number_names_the_parameter(name, text):
    """Plain decimal digits only (a fraction for half_life_days); the message quotes at most ~200 characters."""
    with pytest.raises(ParameterError) as caught:
        parameter_from_text(name, text)
    assert caught.value.field == name
    assert len(str(caught.value)) < 400


def test_text_numbers_then_meet_the_range():
    """What parameter_from_text makes is checked like a JSON number: 0 days is out of range."""
    with pytest.raises(ParameterError) as caught:
        parse_attribution_params({"lookback_days": parameter_from_text("lookback_days", "0")}, now=NOW)
    assert caught.value.field == "lookback_days"
    assert parse_attribution_params({"half_life_days": parameter_from_text("half_life_days", "3.5")},
                                    now=NOW).half_life_days == 3.5


# --- messages stay short, whatever was sent ------------------------------------------------------

@settings(max_examples=30)
@given(
    name=st.sampled_from(["touch_scope", "start_date", "end_date", "conversions", "interval"]),
    length=st.integers(300, 70_000),
    char=st.sampled_from(["x", "é", "💥", "\n", "'"]),
)
def test_messages_quote_at_most_about_200_characters(name, length, char):
    """A 65 KB bad value gives a short message, not a 65 KB one (wording.quoted)."""
    parser = parse_timeseries_params if name == "interval" else parse_attribution_params
    with pytest.raises(ParameterError) as caught:
        parser({name: char * length}, now=NOW)
    assert caught.value.field == name
    assert len(str(caught.value)) < 500
    assert f"{length:,} characters" in str(caught.value)


def test_a_very_long_unknown_key_is_cut_in_the_message_and_the_field():
    key = "k" * 70_000
    with pytest.raises(ParameterError) as caught:
        parse_params({key: 1}, now=NOW)
    assert len(str(caught.value)) < 1_000 and len(caught.value.field) <= 201


# --- any JSON body gives a parameter object or a ParameterError, nothing else --------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
known_keys = st.sampled_from(sorted({key for keys in OWN_PARAMETERS.values() for key in keys} | set(PARAMETERS)))


@settings(max_examples=150)
@given(endpoint=st.sampled_from(sorted(PARSERS)),
       body=st.dictionaries(known_keys | st.text(max_size=12), json_values | st.text(max_size=12), max_size=5))
def test_any_json_body_parses_or_names_a_parameter(endpoint, body):
    """Fuzzing every endpoint: the only exception is ParameterError, and its field is a key of the body."""
    try:
        PARSERS[endpoint](body, now=NOW)
    except ParameterError as error:
        assert error.field in body or (endpoint == "breakdown" and error.field == "dimension"), (error.field, body)


# --- every endpoint's to_request round trips -----------------------------------------------------

@st.composite
def endpoint_params(draw):
    cohort = draw(insights_params())
    kind = draw(st.sampled_from(["attribution", "timeseries", "breakdown"]))
    if kind == "attribution":
        return AttributionParams(
            cohort=cohort, lookback_days=draw(st.integers(1, 365)),
            half_life_days=draw(st.floats(min_value=0, max_value=365, exclude_min=True)),
            conversions=draw(st.sampled_from(["first", "all"])), top_paths=draw(st.integers(1, 1000)))
    if kind == "timeseries":
        cohort = InsightsParams(**{**cohort.__dict__, "end": min(cohort.end, cohort.start + timedelta(days=3000))})
        return TimeseriesParams(cohort=cohort, interval=draw(st.sampled_from(["day", "week", "month"])))
    return BreakdownParams(cohort=cohort, dimension=draw(st.sampled_from(DIMENSIONS)), limit=draw(st.integers(1, 1000)))


@settings(max_examples=60)
@given(endpoint_params())
def test_every_endpoints_request_round_trips(params):
    """The explicit body of any parameter object, through JSON, parses back to an equal object."""
    parser = {AttributionParams: parse_attribution_params, TimeseriesParams: parse_timeseries_params,
              BreakdownParams: parse_breakdown_params}[type(params)]
    assert parser(json.loads(json.dumps(params.to_request())), now=NOW) == params
