"""SPEC 3 and 3.1: parsing and validating the request parameters.

Every expected value below is worked out by hand from SPEC 3.1 (a date-only
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

from insights_core.params import InsightsParams, ParameterError, parse_params

NOW = datetime(2025, 7, 15, 12, 30, 0, tzinfo=timezone.utc)
FILTERS = (
    "conversion_page", "meta_type", "meta_id",
    "source", "medium", "campaign", "content", "term", "landing_page",
)
PARAMETERS = ("start_date", "end_date", *FILTERS, "touch_scope")
TOUCH_SCOPES = ("any", "first", "converting", "assist", "after")


def window(body: dict) -> tuple[datetime, datetime]:
    params = parse_params(body, now=NOW)
    return params.start, params.end


def rejected(body, field: str | None) -> ParameterError:
    """Parse ``body``, expecting a ParameterError for ``field``; return it."""
    with pytest.raises(ParameterError) as caught:
        parse_params(body, now=NOW)
    assert caught.value.field == field, str(caught.value)
    return caught.value


# --- SPEC 3.1 defaults ---------------------------------------------------------------

def test_default_window_is_the_30_days_up_to_now():
    """SPEC 3.1: end_date defaults to now (UTC), start_date to end_date - 30 days."""
    # 2025-07-15 12:30 minus 30 days: 15 days back is 2025-06-30, 15 more is 2025-06-15.
    assert window({}) == (datetime(2025, 6, 15, 12, 30), datetime(2025, 7, 15, 12, 30))


def test_default_window_from_an_aware_non_utc_now():
    """SPEC 3.1: now is taken in UTC: 14:30 at +02:00 is 12:30 UTC."""
    now = datetime(2025, 7, 15, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    params = parse_params({}, now=now)
    assert (params.start, params.end) == (datetime(2025, 6, 15, 12, 30), datetime(2025, 7, 15, 12, 30))


def test_default_end_is_the_real_now():
    """SPEC 3.1: without ``now`` pinned, end_date is the current UTC time."""
    before = datetime.now(timezone.utc).replace(tzinfo=None)
    params = parse_params({})
    after = datetime.now(timezone.utc).replace(tzinfo=None)
    assert before <= params.end <= after
    assert params.end - params.start == timedelta(days=30)


def test_only_end_given_start_is_30_days_before():
    """SPEC 3.1: start_date = end_date - 30 days, from the given end."""
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
    """SPEC 3.1: with only start_date, the window runs from it to now."""
    assert window({"start_date": "2025-01-01"}) == (datetime(2025, 1, 1), datetime(2025, 7, 15, 12, 30))


# --- SPEC 3 / 3.1 dates and datetimes -----------------------------------------------------

def test_date_only_covers_whole_days_in_utc():
    """SPEC 3: a date start is 00:00:00 UTC, a date end is 23:59:59.999999 UTC."""
    assert window({"start_date": "2025-07-01", "end_date": "2025-07-31"}) == (
        datetime(2025, 7, 1, 0, 0, 0),
        datetime(2025, 7, 31, 23, 59, 59, 999999),
    )


def test_same_date_for_start_and_end_is_one_whole_day():
    """SPEC 3, 3.1: start and end on the same date is that day, 00:00 to 23:59:59.999999."""
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
    """SPEC 3.1: an ISO 8601 datetime with an offset is converted to UTC; without an
    offset it is UTC; fractional seconds are kept."""
    other = {"start_date": "end_date", "end_date": "start_date"}[name]
    body = {name: text, other: "2025-01-01" if name == "end_date" else "2025-12-31"}
    start, end = window(body)
    assert (start if name == "start_date" else end) == utc


def test_offsets_decide_the_order_of_start_and_end():
    """SPEC 3.1: start and end are compared after conversion to UTC."""
    # 10:00+02:00 is 08:00 UTC, before the 09:00 UTC end: fine.
    assert window({"start_date": "2025-07-01T10:00:00+02:00", "end_date": "2025-07-01T09:00:00Z"}) == (
        datetime(2025, 7, 1, 8, 0),
        datetime(2025, 7, 1, 9, 0),
    )
    # 10:00-02:00 is 12:00 UTC, after the 11:00 UTC end: an error naming start_date.
    rejected({"start_date": "2025-07-01T10:00:00-02:00", "end_date": "2025-07-01T11:00:00Z"}, "start_date")


def test_start_equal_to_end_is_allowed():
    """SPEC 3.1: only start after end is an error; the same instant is a valid window."""
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
    """SPEC 3.1: start_date after end_date is an error naming start_date."""
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
    """SPEC 3.1: an unparseable date or datetime is an error naming the parameter."""
    error = rejected({name: text}, name)
    assert name in str(error)


# --- SPEC 3 "not given", unknown keys, types ----------------------------------------------------

@pytest.mark.parametrize("absent", [None, ""], ids=["null", "empty-string"])
@pytest.mark.parametrize("name", PARAMETERS)
def test_null_and_empty_string_mean_not_given(name, absent):
    """SPEC 3: null and "" mean "not given", for every parameter."""
    assert parse_params({name: absent}, now=NOW) == parse_params({}, now=NOW)


def test_nothing_given_is_the_default_parameters():
    """SPEC 3: all parameters are optional; filters are unset and touch_scope is any."""
    params = parse_params({}, now=NOW)
    assert params == InsightsParams(start=datetime(2025, 6, 15, 12, 30), end=datetime(2025, 7, 15, 12, 30))
    assert params.touch_scope == "any"
    assert all(getattr(params, name) is None for name in FILTERS)
    assert parse_params({name: None for name in PARAMETERS}, now=NOW) == params
    assert parse_params({name: "" for name in PARAMETERS}, now=NOW) == params


@pytest.mark.parametrize("name", FILTERS)
def test_filters_are_kept_exactly(name):
    """SPEC 3: session and conversion filters are exact, case-sensitive strings."""
    params = parse_params({name: " Google Ads/CPC "}, now=NOW)
    assert getattr(params, name) == " Google Ads/CPC "
    assert all(getattr(params, other) is None for other in FILTERS if other != name)


@pytest.mark.parametrize(
    "body",
    [
        {"sourec": "google.com"},
        {"Start_Date": "2025-07-01"},
        {"touchscope": "first"},
        {"channel": None},
        {"utm_source": ""},
    ],
)
def test_unknown_key_is_named(body):
    """SPEC 3: an unknown key is an error naming it, whatever its value."""
    [key] = body
    error = rejected(body, key)
    assert key in str(error)


def test_several_unknown_keys_are_all_named():
    """SPEC 3: the error names every unknown key, and known ones do not hide them."""
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
    """SPEC 3.1: a value of the wrong type (number, boolean, array, object) is an
    error naming the parameter."""
    rejected({name: value}, name)


@pytest.mark.parametrize("body", [[], ["start_date"], "start_date=2025-07-01", 42, True],
                         ids=["empty-list", "list", "string", "number", "bool"])
def test_body_that_is_not_an_object(body):
    """SPEC 3: the request body is a JSON object; anything else is an error about the
    body as a whole (field None)."""
    rejected(body, None)


# --- SPEC 3.3 touch_scope -------------------------------------------------------------------

@pytest.mark.parametrize("scope", TOUCH_SCOPES)
def test_every_touch_scope_is_accepted(scope):
    """SPEC 3: touch_scope is one of any, first, converting, assist, after."""
    assert parse_params({"touch_scope": scope}, now=NOW).touch_scope == scope


@pytest.mark.parametrize("scope", ["ANY", "First", "first ", "all", "converted", "assists", "last"])
def test_bad_touch_scope_names_it(scope):
    """SPEC 3: any other touch_scope is an error naming touch_scope."""
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
    """SPEC 3: the explicit request body of a parameter object, sent as JSON and
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
    """SPEC 3.1: an unusable value is a 400 naming the parameter, never a crash."""
    with pytest.raises(ParameterError) as caught:
        parse_params(raw, now=NOW)
    assert caught.value.field == field
