"""The Attribution page: its URL settings (checked by the core's parser), the numbers against
compute_attribution, tables that sort as numbers, escaped chart labels, bad links as messages, and the
settings kept across pages. The CSV download against the CLI's bytes in a real browser:
tests/browser/test_attribution_browser.py."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import attribution as page
from dashboard.components import attribution as parts
from dashboard.view import make_view
from insights_core import NO_DATA_MESSAGE, compute_attribution
from insights_core.storefile import StoreFile
from insights_core.vocabulary import ATTRIBUTION_MODELS
from support import make_demo_db

APP = Path(__file__).resolve().parents[1] / "app.py"
DATA_END = datetime(2025, 7, 31, 18, 0, tzinfo=timezone.utc)
JULY = {"start_date": "2025-07-01", "end_date": "2025-07-31"}


@pytest.fixture(scope="module")
def store_path(tmp_path_factory) -> Path:
    return make_demo_db(tmp_path_factory.mktemp("attribution-page") / "insights.duckdb", 800, 3, DATA_END)


def core(store: Path, body: dict) -> dict:
    with StoreFile(store).snapshot() as con:
        return compute_attribution(con, body)


def open_page(store: Path, monkeypatch, **query) -> AppTest:
    monkeypatch.setenv("INSIGHTS_DB", str(store))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update(query)
    at.switch_page("pages/attribution.py")
    return at.run()


@pytest.fixture
def app(store_path, monkeypatch):
    return lambda **query: open_page(store_path, monkeypatch, **query)


def credits_shown(at: AppTest, measure: str = "conversions"):
    """The channels × models table of conversions (the first) or value (the second, when there is value)."""
    frames = [frame.value for frame in at.dataframe if frame.value.columns[0] == "Channel"]
    return frames[0 if measure == "conversions" else 1]


# --- the page's settings in the URL ----------------------------------------------------------


def test_good_settings_are_kept_as_the_url_writes_them_and_defaults_left_out():
    notices, kept = page.check_url({"lookback_days": ["7"], "half_life_days": ["2.50"], "conversions": ["all"]})
    assert not notices and kept == {"lookback_days": "7", "half_life_days": "2.5", "conversions": "all"}
    notices, kept = page.check_url({"lookback_days": ["90"], "half_life_days": ["7.0"], "conversions": ["first"]})
    assert not notices and kept == {}


@pytest.mark.parametrize(("key", "value", "words"), [
    ("lookback_days", "0", "is not a whole number from 1 to 365"),
    ("lookback_days", "7.5", "is not a whole number from 1 to 365"),
    ("lookback_days", "366", "is not a whole number from 1 to 365"),
    ("lookback_days", "-3", "is not a whole number from 1 to 365"),
    ("half_life_days", "0", "is not a number of days from 0.01 to 365"),
    ("half_life_days", "0.001", "is not a number of days from 0.01 to 365"),
    ("half_life_days", "nan", "is not a number of days"),
    ("half_life_days", "1e3", "is not a number of days"),
    ("conversions", "every", "is not one of the choices (first, all)"),
])
def test_a_bad_setting_is_named_in_words_and_left_out(key, value, words):
    notices, kept = page.check_url({key: [value]})
    [notice] = notices
    assert notice.level == "warning" and words in notice.text and f"**{page.LABELS[key]}**" in notice.text
    assert kept == {}


def test_a_setting_given_twice_is_left_out():
    notices, kept = page.check_url({"lookback_days": ["7", "8"]})
    assert "2 times" in notices[0].text and kept == {}


def test_only_the_attribution_page_takes_these_keys():
    raw = {"lookback_days": ["7"], "medium": ["cpc"]}
    assert page.split_url("attribution", raw) == ({"medium": ["cpc"]}, [], {"lookback_days": "7"})
    assert page.split_url("insights", raw) == (raw, [], {})


def test_the_settings_become_the_core_parameters_and_a_file_name():
    view = make_view(datetime(2025, 7, 1).date(), datetime(2025, 7, 31).date(), {"medium": "cpc"}, None, None,
                     now=datetime(2025, 8, 1))
    settings = page.settings_from({"lookback_days": "7", "conversions": "all"})
    params = settings.params(view)
    assert (params.lookback_days, params.half_life_days, params.conversions, params.top_paths) == (7, 7.0, "all", 10)
    assert params.cohort == view.params
    assert page.download_stem(view, settings) == (
        "insights_2025-07-01_2025-07-31_medium-cpc_attribution_lookback_days-7_conversions-all")


def test_each_model_has_a_name_and_a_sentence_in_the_answers_order():
    assert tuple(page.MODEL_NAMES) == ATTRIBUTION_MODELS
    for model in ATTRIBUTION_MODELS:
        sentence = page.MODEL_SENTENCES[model]
        assert sentence.endswith(".") and model not in sentence and "SPEC" not in sentence


# --- pure pieces -----------------------------------------------------------------------------


HOSTILE = '<a href="https://evil.example">x</a>'


def answer_with(channels: list[dict]) -> dict:
    return {"attribution": {"conversions": 2, "value": 0.0, "channels": channels,
                            "paths": [{"path": [HOSTILE, "organic/google.com"], "conversions": 2, "value": 0.0}],
                            "path_lengths": {"1": 0, "2": 2, "3": 0, "4": 0, "5+": 0}}}


def channel(name: str, credit: float, data_driven: float | None) -> dict:
    credits = {model: credit for model in ATTRIBUTION_MODELS} | {"data_driven": data_driven}
    return {"channel": name, "conversions": credits, "value": {model: 0.0 for model in ATTRIBUTION_MODELS}}


def test_the_table_keeps_numbers_as_numbers_and_a_null_credit_empty():
    frame = parts.credits_frame(answer_with([channel("b", 10.0, None), channel("a", 2.5, 1.0)]), "conversions")
    assert list(frame.columns) == ["Channel", *page.MODEL_NAMES.values()]
    assert frame["Linear"].dtype == "float64" and frame["Data-driven"].isna().tolist() == [True, False]
    assert frame.sort_values("Linear")["Channel"].tolist() == ["a", "b"]  # 2.5 < 10 (not "10" < "2.5")


def test_chart_labels_are_escaped_and_the_models_in_the_legends_order():
    answer = answer_with([channel(HOSTILE, 1.0, 1.0), channel("organic/google.com", 1.0, 1.0)])
    figure = parts.models_figure(answer)
    assert [trace.name for trace in figure.data][::-1] == list(page.MODEL_NAMES.values())
    labels = [*figure.data[0].y, *figure.layout.yaxis.ticktext]
    assert all("<a" not in label for label in labels) and any("&lt;a href" in label for label in labels)
    lengths = parts.path_lengths_figure(answer)
    assert list(lengths.data[0].y) == [0, 2, 0, 0, 0]
    assert parts.paths_frame(answer, with_value=False)["Path"].tolist() == [f"{HOSTILE} > organic/google.com"]


# --- the page (AppTest) ----------------------------------------------------------------------


def test_url_settings_set_the_widgets_and_the_numbers_are_the_cores(app, store_path):
    query = {**JULY, "medium": "organic", "lookback_days": "7", "half_life_days": "2.5", "conversions": "all"}
    at = app(**query)
    assert not at.exception and not at.error and not at.warning
    assert at.number_input(key="lookback_days").value == 7
    assert at.number_input(key="half_life_days").value == 2.5
    assert at.radio(key="conversions").value == "all"
    assert at.query_params == query
    expected = core(store_path, {**JULY, "medium": "organic", "lookback_days": 7, "half_life_days": 2.5,
                                 "conversions": "all"})["attribution"]
    shown = credits_shown(at)
    assert shown["Channel"].tolist() == [row["channel"] for row in expected["channels"]]
    for model, name in page.MODEL_NAMES.items():
        assert shown[name].tolist() == pytest.approx([row["conversions"][model] for row in expected["channels"]],
                                                     nan_ok=True)
    assert any(f"{expected['conversions']:,} conversions credited" in block.value for block in at.markdown)
    everything = "\n".join(block.value for block in at.markdown)
    for sentence in page.MODEL_SENTENCES.values():
        assert sentence in everything
    assert [button.label for button in at.get("download_button")] == ["Attribution CSV", "Attribution JSON"]
    # The share link carries the page's settings too.
    share = [code.value for code in at.sidebar.code if "lookback_days=7" in code.value]
    assert share and "conversions=all" in share[0] and "half_life_days=2.5" in share[0]


def test_a_shorter_lookback_moves_the_numbers(app, store_path):
    at = app(**JULY)
    wide = credits_shown(at)
    at = at.number_input(key="lookback_days").set_value(1).run()
    assert at.query_params["lookback_days"] == "1"
    narrow = credits_shown(at)
    expected = core(store_path, {**JULY, "lookback_days": 1})["attribution"]
    assert narrow["First touch"].tolist() == [row["conversions"]["first_touch"] for row in expected["channels"]]
    assert narrow["First touch"].tolist() != wide["First touch"].tolist()
    at = at.number_input(key="lookback_days").set_value(90).run()
    assert "lookback_days" not in at.query_params  # the default leaves the URL


def test_bad_settings_in_the_link_are_messages_never_exceptions(app):
    at = app(**JULY, lookback_days="abc", half_life_days="0", conversions="every", utm="x")
    assert not at.exception and not at.error
    warnings = " ".join(warning.value for warning in at.warning)
    for words in ("**Lookback (days)**", "**Half-life (days)**", "**Conversions credited**", "\\'utm\\'"):
        assert words in warnings
    assert at.number_input(key="lookback_days").value == 90
    assert at.radio(key="conversions").value == "first"
    assert at.query_params == JULY
    assert [button.label for button in at.get("download_button")] == ["Attribution CSV", "Attribution JSON"]


def test_the_insights_page_does_not_take_attribution_settings(store_path, monkeypatch):
    monkeypatch.setenv("INSIGHTS_DB", str(store_path))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.query_params.update({**JULY, "lookback_days": "7"})
    at = at.run()
    assert any("\\'lookback\\_days\\'" in warning.value and "not a setting of this page" in warning.value
               for warning in at.warning)


def test_the_settings_are_kept_on_the_way_to_another_page_and_back(app):
    at = app(**JULY, lookback_days="14")
    at = at.radio(key="conversions").set_value("all").run()
    at.switch_page("pages/insights.py").run()
    assert not at.number_input
    at.switch_page("pages/attribution.py").run()
    assert at.number_input(key="lookback_days").value == 14
    assert at.radio(key="conversions").value == "all"


def test_an_empty_cohort_shows_the_no_data_message(app):
    at = app(**JULY, source="no-such-source.example")
    assert not at.exception
    assert any(NO_DATA_MESSAGE in block.value for block in at.markdown)


def test_value_credits_are_shown_when_conversions_have_a_value(app, store_path):
    expected = core(store_path, JULY)["attribution"]
    assert expected["value"] > 0  # the demo data has values
    value = credits_shown(app(**JULY), "value")
    assert value["Linear"].tolist() == [row["value"]["linear"] for row in expected["channels"]]
