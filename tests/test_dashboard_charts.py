"""The dashboard's trend chart and its table, built by pure functions (docs/metrics.md#trend): every count a
line, the comparison's periods dashed over the same places, the numbers as a table and in words; and the
drill-down, a selected table row becoming its filter."""

from __future__ import annotations

from dashboard.components.charts import trend_alt, trend_figure, trend_table
from insights_core.vocabulary import TREND_COUNT_KEYS


def buckets(starts: list[str], base: int) -> list[dict]:
    return [{"start": start, **{key: base + index + offset for offset, key in enumerate(TREND_COUNT_KEYS)}}
            for index, start in enumerate(starts)]


JULY_WEEKS = buckets(["2025-06-30", "2025-07-07", "2025-07-14", "2025-07-21", "2025-07-28"], 10)
JUNE_WEEKS = buckets(["2025-05-26", "2025-06-02", "2025-06-09", "2025-06-16"], 100)


def test_each_count_is_a_line_and_the_comparison_is_dashed_in_the_same_colour():
    figure = trend_figure(JULY_WEEKS, JUNE_WEEKS, "week", "previous period")
    solid = [trace for trace in figure.data if trace.line.dash is None]
    dashed = [trace for trace in figure.data if trace.line.dash == "dash"]
    assert [trace.name for trace in solid] == ["Sessions", "Users", "Converting sessions", "Converted users"]
    assert [trace.name for trace in dashed] == [f"{trace.name}, previous period" for trace in solid]
    for line, before in zip(solid, dashed):
        assert (line.line.color, line.legendgroup) == (before.line.color, before.legendgroup)
    # The comparison's weeks lie over the window's first weeks, and say their own dates on hover.
    assert list(dashed[0].x) == list(solid[0].x)[:4] and list(dashed[0].customdata) == [b["start"] for b in JUNE_WEEKS]
    assert list(dashed[0].y) == [bucket["sessions"] for bucket in JUNE_WEEKS]
    assert figure.layout.xaxis.title.text == "period (week (from Monday), UTC)"


def test_without_a_comparison_there_are_four_lines():
    assert len(trend_figure(JULY_WEEKS, None, "week").data) == 4


def test_the_table_has_the_counts_and_the_comparison_beside_them():
    table = trend_table(JULY_WEEKS, JUNE_WEEKS, "previous period")
    assert list(table["period from"]) == [bucket["start"] for bucket in JULY_WEEKS]
    assert list(table["converted users"]) == [bucket["converted_users"] for bucket in JULY_WEEKS]
    assert list(table["previous period: period from"])[:4] == [bucket["start"] for bucket in JUNE_WEEKS]
    assert table["previous period: sessions"].isna().tolist() == [False] * 4 + [True]
    assert list(trend_table(JULY_WEEKS, None).columns) == [
        "period from", "sessions", "users", "converting sessions", "converted users"]


def test_the_accessible_name_says_the_periods_and_the_totals():
    text = trend_alt(JULY_WEEKS, "week", compared=True)
    assert text.startswith("Line chart of sessions, users, converting sessions and converted users per week")
    assert "5 periods from 2025-06-30 to 2025-07-28, with the comparison dashed" in text
    assert f"{sum(b['sessions'] for b in JULY_WEEKS):,} sessions" in text


def test_a_selected_row_becomes_its_filter_and_a_row_without_a_value_is_explained(monkeypatch):
    from types import SimpleNamespace

    from dashboard.components import tables

    state = {"select_campaign_x": {"selection": {"rows": [1]}}}
    monkeypatch.setattr(tables, "st", SimpleNamespace(session_state=state))
    tables._drill_down("select_campaign_x", "campaign", [None, "summer_sale", "webinar"])
    assert state["campaign"] == "summer_sale" and tables.DRILL_NOTICE not in state
    state["select_campaign_x"] = {"selection": {"rows": [0]}}
    tables._drill_down("select_campaign_x", "campaign", [None, "summer_sale", "webinar"])
    assert state["campaign"] == "summer_sale"  # unchanged: a filter matches an exact value
    assert "cannot be chosen as a **Campaign** filter" in state[tables.DRILL_NOTICE]
    state["select_campaign_x"] = {"selection": {"rows": []}}  # a row unticked: nothing changes
    tables._drill_down("select_campaign_x", "campaign", [None, "summer_sale", "webinar"])
    assert state["campaign"] == "summer_sale"
