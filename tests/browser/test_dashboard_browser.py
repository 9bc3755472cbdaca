"""The dashboard in a real browser: URL -> numbers equal to compute_insights, widgets -> URL, the JSON
download byte-identical to `insights query`, a bad upload refused, and each defect of the first
marketer's trial (quick windows, To before From, channel table, roles chart, phone, dark mode,
narrowing filter lists, file names, share link, chart accessibility)."""

from __future__ import annotations

import hashlib
import re
import shlex
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from insights_core import compute_insights, compute_timeseries, cursor
from insights_core.storefile import StoreFile

pytestmark = pytest.mark.browser

JULY = {"start_date": "2025-07-01", "end_date": "2025-07-31"}
INSIGHTS_CLI = Path(sys.executable).with_name("insights")


def core(store: Path, params: dict) -> dict:
    with StoreFile(store).snapshot() as con:
        return compute_insights(con, params)


def trend(store: Path, params: dict) -> list[dict]:
    with StoreFile(store).snapshot() as con:
        return compute_timeseries(con, params)["timeseries"]["buckets"]


def rows(store: Path, sql: str) -> list[tuple]:
    with StoreFile(store).snapshot() as con:
        return cursor(con).execute(sql).fetchall()


def card(tab, label: str):
    """The value of the metric card labelled ``label``."""
    label_match = tab.get_by_test_id("stMetricLabel").get_by_text(label, exact=True)
    return tab.get_by_test_id("stMetric").filter(has=label_match).get_by_test_id("stMetricValue")


def query_of(url: str) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}


def expect_core_numbers(tab, store: Path, params: dict) -> None:
    metrics = core(store, params)["overall_metrics"]
    users, sessions = metrics["user_summary"], metrics["session_summary"]
    expect(card(tab, "Users")).to_have_text(f"{users['total_users']:,}")
    expect(card(tab, "Converted users")).to_have_text(f"{users['total_converted_users']:,}")
    expect(card(tab, "Conversion rate")).to_have_text(users["conversion_rate"])
    expect(card(tab, "Sessions per user")).to_have_text(f"{users['avg_sessions_per_user']:.1f}")
    expect(card(tab, "Matching sessions")).to_have_text(f"{sessions['total_sessions']:,}")
    expect(card(tab, "Drop-off sessions")).to_have_text(f"{sessions['total_drop_off_sessions']:,}")


def sidebar(tab):
    return tab.get_by_test_id("stSidebar")


def share_link(tab):
    """Open the sidebar's "Share this view" popover; its link (a code element with a copy button)."""
    sidebar(tab).get_by_role("button", name="Share this view").click()
    link = tab.get_by_test_id("stPopoverBody").get_by_test_id("stCode")
    expect(link).to_be_visible()
    return link


def test_a_url_opens_its_view_with_the_core_numbers(page, server, settled):
    query = {**JULY, "medium": "organic", "touch_scope": "first"}
    page.goto(server.view_url("", **query))
    settled(page)
    expect_core_numbers(page, server.store, query)
    expect(page.get_by_role("combobox", name="Medium")).to_have_value("organic")
    expect(page.get_by_role("radiogroup", name="Sessions counted").get_by_role("radio", name="First visits")).to_be_checked()
    assert query_of(page.url) == query
    assert query_of(share_link(page).inner_text().replace("\n", "")) == query


def test_changing_widgets_moves_the_url_and_the_numbers(page, server, settled, open_list):
    page.goto(server.view_url("", **JULY))
    settled(page)
    page.get_by_role("radiogroup", name="Sessions counted").get_by_text("Converting", exact=True).click()
    settled(page)
    page.wait_for_url(lambda url: query_of(url) == {**JULY, "touch_scope": "converting"})

    open_list(page, "Source")
    page.get_by_role("combobox", name="Source").fill("google.com")
    page.get_by_role("option", name="google.com", exact=True).click()
    settled(page)
    expected = {**JULY, "source": "google.com", "touch_scope": "converting"}
    page.wait_for_url(lambda url: query_of(url) == expected)
    expect_core_numbers(page, server.store, expected)


def test_bad_url_values_are_explained_in_words_and_replaced_by_defaults(page, server, settled):
    page.goto(server.view_url("", start_date="2025-07-20", end_date="2025-07-10", touch_scope="everyone"))
    settled(page)
    alerts = page.get_by_test_id("stAlert")
    expect(alerts.filter(has_text="Sessions counted")).to_have_count(1)
    expect(alerts.filter(has_text="is after its To date")).to_have_count(1)
    corrected = {"end_date": "2025-07-10"}  # From is left out: the 30 days up to To, as the API takes it
    page.wait_for_url(lambda url: query_of(url) == corrected)
    expect_core_numbers(page, server.store, corrected)


def test_downloads_are_byte_identical_to_the_cli_and_named_after_the_filters(page, server, settled):
    query = {**JULY, "source": "google.com", "touch_scope": "assist"}
    page.goto(server.view_url("export", **query))
    settled(page)
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="Insights JSON").get_by_role("button").click()
    downloaded = Path(download.value.path()).read_bytes()
    assert download.value.suggested_filename == "insights_2025-07-01_2025-07-31_source-google.com_touch_scope-assist.json"

    # Run the command line exactly as the page shows it.
    shown = page.get_by_test_id("stCode").filter(has_text="insights query").inner_text()
    words = shlex.split(shown.replace("\n", ""))
    assert words[:2] == ["insights", "query"] and Path(words[words.index("--db") + 1]) == server.store
    cli = subprocess.run([str(INSIGHTS_CLI), *words[1:]], capture_output=True, check=True)
    assert downloaded == cli.stdout
    assert b'"overall_metrics"' in downloaded
    expect(page.get_by_text("SPEC")).to_have_count(0)

    # The channel table as CSV: the bytes of `insights query --format csv` for the same question.
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="Channels CSV").get_by_role("button").click()
    assert download.value.suggested_filename == (
        "insights_2025-07-01_2025-07-31_source-google.com_touch_scope-assist_channels.csv")
    csv = subprocess.run([str(INSIGHTS_CLI), *words[1:], "--format", "csv"], capture_output=True, check=True)
    assert Path(download.value.path()).read_bytes() == csv.stdout
    assert csv.stdout.startswith(b"channel,total_sessions,")


def test_the_data_page_has_no_analysis_sidebar_and_refuses_a_bad_upload(page, server, settled, tmp_path):
    before = hashlib.sha256(server.store.read_bytes()).hexdigest()
    bad = tmp_path / "bad-sessions.csv"
    bad.write_text(
        "session_id,user_id,started_at\n"
        "n1,u1,2025-07-01T10:00:00Z\n"
        "n1,u2,2025-07-01T11:00:00Z\n"
        "n2,u3,not a time\n"
    )
    page.goto(server.view_url("data"))
    settled(page)
    expect(sidebar(page).get_by_test_id("stDateInput")).to_have_count(0)
    expect(sidebar(page).get_by_test_id("stSelectbox")).to_have_count(0)
    stored = page.get_by_test_id("stMetric").filter(has_text="Sessions").get_by_test_id("stMetricValue")
    count_before = stored.inner_text()
    uploader = page.get_by_test_id("stFileUploader").filter(has_text="Sessions file")
    uploader.locator("input[type='file']").set_input_files(str(bad))
    expect(uploader).to_contain_text("bad-sessions.csv")
    page.get_by_role("button", name="Load files").click()
    settled(page)
    error = page.get_by_test_id("stAlert").filter(has_text="Nothing was stored")
    expect(error).to_contain_text('bad-sessions.csv: rule "duplicate id"')
    expect(error).to_contain_text("unparseable timestamp")
    expect(stored).to_have_text(count_before)
    assert hashlib.sha256(server.store.read_bytes()).hexdigest() == before


def test_quick_windows_are_whole_days_ending_yesterday_and_say_their_span(page, server, settled):
    page.goto(server.view_url("", **JULY))
    settled(page)
    page.get_by_role("radiogroup", name="Quick window").get_by_role("radio", name="Last 7 days").click()
    settled(page)
    today = datetime.now(timezone.utc).date()
    first, last = today - timedelta(days=7), today - timedelta(days=1)
    page.wait_for_url(lambda url: query_of(url) == {"start_date": first.isoformat(), "end_date": last.isoformat()})
    expect(sidebar(page).get_by_text(re.compile(r"^Showing Last 7 days: .*\(7 days, UTC\)\.$"))).to_have_count(1)
    # The test data ends on 31 Jul 2025: the page says so and offers the data's own range.
    page.get_by_role("button", name=re.compile(r"^Use the data's range")).click()
    settled(page)
    [(start, end)] = rows(server.store, "SELECT min(started_at)::DATE, max(started_at)::DATE FROM sessions")
    everything = {"start_date": start.isoformat(), "end_date": end.isoformat()}
    page.wait_for_url(lambda url: query_of(url) == everything)
    expect_core_numbers(page, server.store, everything)


def test_a_typed_to_before_from_applies_on_enter_is_explained_and_moves_nothing(page, server, settled):
    page.goto(server.view_url("", **JULY))
    settled(page)
    users_in_july = card(page, "Users").inner_text()
    page.get_by_role("spinbutton", name="month, To").focus()
    page.keyboard.type("0620")  # month 06, then the day segment: 20
    page.keyboard.press("Enter")
    settled(page)
    error = sidebar(page).get_by_test_id("stAlert")
    expect(error).to_contain_text("To (20 Jun 2025) is before From (1 Jul 2025)")
    page.wait_for_url(lambda url: query_of(url) == {"start_date": "2025-07-01", "end_date": "2025-06-20"})
    expect(page.get_by_role("spinbutton", name="month, From")).to_have_text("07")  # nothing moved
    expect(card(page, "Users")).to_have_text(users_in_july)  # the numbers of the window before


ROW_MARKER = 32
"""Width of the row-selection boxes at the left of a selectable table (px)."""


def test_the_channel_table_fits_and_a_click_on_a_narrow_header_sorts(new_tab, server, settled):
    tab = new_tab(viewport={"width": 1366, "height": 2400})
    tab.goto(server.view_url("", **JULY))
    settled(tab)
    table = tab.locator(".st-key-channel_table [data-testid='stDataFrame']")
    canvas = table.locator("canvas").first
    expect(canvas).to_be_visible()
    widths = table.evaluate("(t) => { const s = t.querySelector('.dvn-scroller'); return [s.scrollWidth, s.clientWidth]; }")
    assert widths[0] <= widths[1] + 1, f"the table scrolls sideways: {widths}"
    # Column 0 holds the row-selection boxes; then Channel, Channel group, Sessions, Users.
    expect(table.locator("td[id^='glide-cell-2-']").first).to_have_text(re.compile(r"^[A-Z][A-Za-z ]+$"))

    def users_column() -> list[int]:
        cells = table.locator("td[id^='glide-cell-4-']")
        return [int(text.replace(",", "")) for text in cells.all_inner_texts()[:8]]

    expect(table.locator("td[id^='glide-cell-4-']")).not_to_have_count(0)
    box = canvas.bounding_box()
    before = users_column()
    assert before != sorted(before)
    # Users: after the boxes, Channel 170 px, Channel group 115 px, Sessions 80 px; click its middle (80 px wide).
    tab.mouse.click(box["x"] + ROW_MARKER + 170 + 115 + 80 + 40, box["y"] + 17)
    for _ in range(40):
        values = users_column()
        if values == sorted(values):
            break
        tab.wait_for_timeout(250)
    assert values == sorted(values) and values[0] < values[-1], values


def test_roles_chart_bars_run_in_the_legends_order(page, server, settled):
    page.goto(server.view_url("", **JULY))
    settled(page)
    chart = page.get_by_role("figure", name=re.compile("^Bar chart of converted users by the role"))
    chart.locator(".legendtext").first.wait_for()
    legend, bars = chart.evaluate("""(figure) => {
        const legend = Array.from(figure.querySelectorAll('.legend .traces'))
            .map(t => [t.getBoundingClientRect().x, t.querySelector('.legendtext').textContent])
            .sort((a, b) => a[0] - b[0]).map(t => t[1]);
        const plot = figure.querySelector('.js-plotly-plot');
        const names = plot._fullData.map(t => t.name);
        const bars = Array.from(plot.querySelectorAll('.barlayer .trace')).map((t, i) => {
            const tops = Array.from(t.querySelectorAll('path')).map(p => p.getBoundingClientRect())
                .filter(r => r.height > 0).map(r => r.y);
            return [Math.min(...tops), names[i]];
        }).sort((a, b) => a[0] - b[0]).map(b => b[1]);
        return [legend, bars];
    }""")
    assert legend == ["first visit", "assisting", "converting", "after converting"]
    assert bars == legend  # top to bottom within the busiest channel, as the legend reads left to right


def test_on_a_phone_labels_stay_level_and_the_roles_chart_has_room(new_tab, server, settled):
    tab = new_tab(viewport={"width": 390, "height": 3200}, is_mobile=True, has_touch=True)
    tab.goto(server.view_url("", **JULY))
    settled(tab)
    timeline = tab.get_by_role("figure", name=re.compile("^Bar chart of converted users by time"))
    timeline.locator(".bartext").first.wait_for()
    transforms = timeline.locator(".bartext").evaluate_all("(texts) => texts.map(t => t.getAttribute('transform') || '')")
    assert transforms and not any("rotate" in transform for transform in transforms), transforms
    roles = tab.get_by_role("figure", name=re.compile("^Bar chart of converted users by the role"))
    roles.locator(".nsewdrag").first.wait_for()
    plot_width, chart_width = roles.evaluate(
        "(f) => [f.querySelector('.nsewdrag').getBoundingClientRect().width, f.getBoundingClientRect().width]")
    assert plot_width >= 0.45 * chart_width, (plot_width, chart_width)


def luminance(css_colour: str) -> float:
    red, green, blue = (int(part) for part in re.findall(r"\d+", css_colour)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def test_the_page_follows_the_systems_light_or_dark_scheme(new_tab, server, settled):
    seen = {}
    for scheme in ("dark", "light"):
        tab = new_tab(color_scheme=scheme)
        tab.goto(server.view_url("", **JULY))
        settled(tab)
        tick = tab.locator(".js-plotly-plot .xtick text").first
        tick.wait_for()
        seen[scheme] = [luminance(colour) for colour in (
            tab.get_by_test_id("stApp").evaluate("(app) => getComputedStyle(app).backgroundColor"),
            card(tab, "Users").evaluate("(value) => getComputedStyle(value).color"),
            tick.evaluate("(t) => getComputedStyle(t).fill"),
        )]
    (dark_background, dark_text, dark_tick), (light_background, light_text, light_tick) = seen["dark"], seen["light"]
    assert dark_background < 0.2 and light_background > 0.9
    # Readable in both: numbers and chart labels stand out from the background.
    assert dark_text - dark_background > 0.6 and light_background - light_text > 0.6
    assert dark_tick - dark_background > 0.35 and light_background - light_tick > 0.35


def test_filter_lists_offer_the_values_under_the_other_filters_first(page, server, settled, open_list):
    page.goto(server.view_url("", **JULY, medium="organic"))
    settled(page)
    organic = [row[0] for row in rows(server.store, """
        SELECT source, count(*) AS n FROM sessions
        WHERE medium = 'organic' AND started_at BETWEEN '2025-07-01' AND '2025-07-31 23:59:59.999999'
        GROUP BY source ORDER BY n DESC, source""")]
    options = open_list(page, "Source").all_inner_texts()
    assert options[: len(organic)] == organic and len(options) > len(organic)


def test_the_share_links_copy_button_shows_without_hover(page, server, settled):
    page.goto(server.view_url("", **JULY))
    settled(page)
    link = share_link(page)
    page.mouse.move(1300, 1000)
    copy = link.get_by_role("button", name="Copy to clipboard")
    expect(copy).to_be_visible()
    assert copy.evaluate("(b) => { let e = b, o = 1; while (e) { o *= +getComputedStyle(e).opacity; e = e.parentElement; } return o; }") == 1


def test_charts_have_a_title_an_accessible_name_and_their_data_one_click_away(page, server, settled):
    page.goto(server.view_url("", **JULY))
    settled(page)
    bins = core(server.store, JULY)["overall_metrics"]["conversion_summary"]["conversion_timeline_bins"]
    expect(page.get_by_text("Time to convert", exact=True)).to_have_count(1)
    chart = page.get_by_role("figure", name=re.compile("^Bar chart of converted users by time"))
    expect(chart).to_have_attribute("aria-label", re.compile(f"0-1 days: {bins['counts']['0-1 days']:,} "))
    page.get_by_role("button", name="Time to convert as a table").click()
    table = page.get_by_test_id("stPopoverBody").get_by_test_id("stDataFrame")
    expect(table.locator("td").filter(has_text="7+ days")).to_have_count(1)
    expect(page.get_by_role("figure", name=re.compile("^Bar chart of converted users by the role"))).to_have_count(1)
    expect(page.get_by_text("Roles of each channel as a table")).to_have_count(1)
    # The trend: a line per count, named with its periods and totals; its numbers in a table one click away.
    sessions = sum(bucket["sessions"] for bucket in trend(server.store, JULY))
    trend_chart = page.get_by_role("figure", name=re.compile("^Line chart of sessions, users"))
    expect(trend_chart).to_have_attribute("aria-label", re.compile(f"31 periods from 2025-07-01 .* {sessions:,} sessions"))
    expect(trend_chart.locator(".scatterlayer .trace")).to_have_count(8)  # four counts, four dashed comparisons
    assert trend_chart.locator(".scatterlayer .js-line").evaluate_all(
        "(lines) => lines.filter(l => (l.style.strokeDasharray || '') !== '').length") == 4
    page.keyboard.press("Escape")  # close the open table
    page.get_by_role("button", name="Trend as a table").click()
    rows = page.get_by_test_id("stPopoverBody").get_by_test_id("stDataFrame")
    expect(rows.locator("td").filter(has_text="2025-07-01")).to_have_count(1)


def cli_csv(store: Path, command: str, *flags: str) -> bytes:
    return subprocess.run([str(INSIGHTS_CLI), command, "--db", str(store), *flags, "--format", "csv"],
                          capture_output=True, check=True).stdout


def test_trend_and_breakdown_csv_are_the_cli_bytes_and_follow_the_url(page, server, settled, open_list):
    query = {**JULY, "source": "google.com", "touch_scope": "assist"}
    page.goto(server.view_url("", **query))
    settled(page)
    # The interval is bound to the URL key `interval`, the breakdown's dimension to `dimension`.
    page.get_by_role("radiogroup", name="Trend by").get_by_role("radio", name="Week").click()
    settled(page)
    page.wait_for_url(lambda url: query_of(url) == {**query, "interval": "week"})
    flags = ["--start-date", "2025-07-01", "--end-date", "2025-07-31", "--source", "google.com",
             "--touch-scope", "assist"]
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="Trend CSV").get_by_role("button").click()
    assert download.value.suggested_filename == (
        "insights_2025-07-01_2025-07-31_source-google.com_touch_scope-assist_trend-week.csv")
    expected = cli_csv(server.store, "timeseries", *flags, "--interval", "week")
    assert Path(download.value.path()).read_bytes() == expected and expected.startswith(b"start,sessions,")

    open_list(page, "Break down by")
    page.get_by_role("option", name="Campaign", exact=True).click()
    settled(page)
    page.wait_for_url(lambda url: query_of(url) == {**query, "interval": "week", "dimension": "campaign"})
    with page.expect_download() as download:
        page.get_by_test_id("stDownloadButton").filter(has_text="Breakdown CSV").get_by_role("button").click()
    assert download.value.suggested_filename == (
        "insights_2025-07-01_2025-07-31_source-google.com_touch_scope-assist_breakdown-campaign.csv")
    expected = cli_csv(server.store, "breakdown", *flags, "--dimension", "campaign")
    assert Path(download.value.path()).read_bytes() == expected and expected.startswith(b"campaign,sessions,")


def select_row(tab, key: str, row: int) -> None:
    """Tick the selection box of ``row`` (0 = first data row) in the table of container ``key``."""
    canvas = tab.locator(f".st-key-{key} [data-testid='stDataFrame'] canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    tab.mouse.click(box["x"] + ROW_MARKER / 2, box["y"] + 35 * (row + 1) + 17)


def test_selecting_a_row_drills_down_into_its_value(page, server, settled):
    page.goto(server.view_url("", **JULY))
    settled(page)
    groups = page.locator(".st-key-breakdown_table td[id^='glide-cell-1-']")
    expect(groups.first).not_to_have_text("")
    second = groups.nth(1).inner_text()
    select_row(page, "breakdown_table", 1)
    settled(page)
    page.wait_for_url(lambda url: query_of(url) == {**JULY, "channel_group": second})
    expect(page.get_by_role("combobox", name="Channel group")).to_have_value(second)
    expect_core_numbers(page, server.store, {**JULY, "channel_group": second})

    # The channel table too: its first row's channel becomes the `channel` filter.
    channel = page.locator(".st-key-channel_table td[id^='glide-cell-1-']").first.inner_text()
    select_row(page, "channel_table", 0)
    settled(page)
    expected = {**JULY, "channel_group": second, "channel": channel}
    page.wait_for_url(lambda url: query_of(url) == expected)
    expect_core_numbers(page, server.store, expected)
