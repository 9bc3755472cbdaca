"""The Attribution page's own settings and words: lookback, half-life, which conversions; what each model does.

Pure functions, no Streamlit. The page's three settings live in the URL under
their parameter names (docs/metrics.md#attribution-parameters): ``lookback_days``,
``half_life_days`` and ``conversions``; a default is left out of the URL. Every
value is validated by the core (:func:`insights_core.parse_attribution_params`),
the one place parameters are checked; the page only adds what its widgets can
hold (a half-life of at least :data:`HALF_LIFE_MIN` days).

The sentences of :data:`MODEL_SENTENCES` say how each model splits the credit,
in a marketer's words (docs/metrics.md#attribution-models); the numbers all
come from the core.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from insights_core import AttributionParams, ParameterError, parameter_from_text, parse_attribution_params
from insights_core.params import NUMBER_RANGES
from insights_core.vocabulary import ATTRIBUTED_CONVERSIONS, ATTRIBUTION_MODELS
from insights_core.wording import quoted

from .exports import file_stem
from .text import markdown_text
from .view import Notice, View

PAGE = "attribution"
"""The page's ``url_path``."""

LOOKBACK_DAYS, HALF_LIFE_DAYS, CONVERSIONS = "lookback_days", "half_life_days", "conversions"
KEYS: tuple[str, ...] = (LOOKBACK_DAYS, HALF_LIFE_DAYS, CONVERSIONS)
"""The page's URL keys after the sidebar's (``top_paths`` keeps the API's default of 10)."""

DEFAULTS: Mapping[str, Any] = {
    LOOKBACK_DAYS: NUMBER_RANGES[LOOKBACK_DAYS].default,
    HALF_LIFE_DAYS: float(NUMBER_RANGES[HALF_LIFE_DAYS].default),
    CONVERSIONS: ATTRIBUTED_CONVERSIONS[0],
}

LOOKBACK_MIN, LOOKBACK_MAX = NUMBER_RANGES[LOOKBACK_DAYS].low, NUMBER_RANGES[LOOKBACK_DAYS].high
HALF_LIFE_MIN = 0.01
"""The shortest half-life the page's field takes (about a quarter of an hour); the API takes any above 0."""
HALF_LIFE_MAX = float(NUMBER_RANGES[HALF_LIFE_DAYS].high)

LABELS: Mapping[str, str] = {
    LOOKBACK_DAYS: "Lookback (days)",
    HALF_LIFE_DAYS: "Half-life (days)",
    CONVERSIONS: "Conversions credited",
}
"""URL key -> its label on screen."""

HELP: Mapping[str, str] = {
    LOOKBACK_DAYS: "A visit counts towards a conversion only if it started at most this many days before it "
                   "(the converting visit always counts). 1 to 365, default 90 (docs/metrics.md#lookback).",
    HALF_LIFE_DAYS: "For the time-decay model: a visit this many days before the conversion counts half as much "
                    "as one at the moment of converting. Default 7.",
    CONVERSIONS: "Each person's first conversion (default), or every conversion of every person "
                 "(docs/metrics.md#attributed-conversions).",
}

CONVERSION_LABELS: Mapping[str, str] = {"first": "Each person's first", "all": "Every conversion"}
"""Which conversions (URL value of ``conversions``) -> its label on screen."""

MODEL_NAMES: Mapping[str, str] = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "last_non_direct": "Last non-direct",
    "linear": "Linear",
    "position_based": "Position-based",
    "time_decay": "Time decay",
    "data_driven": "Data-driven",
}
"""Model (the answer's key) -> its name on screen, in the answer's order."""

MODEL_SENTENCES: Mapping[str, str] = {
    "first_touch": "All the credit goes to the channel that brought the person in first.",
    "last_touch": "All the credit goes to the channel of the visit that converted.",
    "last_non_direct": "All the credit goes to the last channel that was not a direct visit (to the converting "
                       "visit when every visit was direct).",
    "linear": "Every visit on the way gets the same share.",
    "position_based": "The first and the converting visit get 40% each; the visits between share the other 20%.",
    "time_decay": "The closer a visit is to the conversion, the more it counts: a visit one half-life earlier "
                  "counts half as much.",
    "data_driven": "Credit by how many conversions would be lost without the channel, learned from every "
                   "journey, the ones that converted and the ones that did not.",
}
"""How each model splits the credit (docs/metrics.md#attribution-models), one sentence each."""

assert tuple(MODEL_NAMES) == tuple(MODEL_SENTENCES) == ATTRIBUTION_MODELS


@dataclass(frozen=True)
class Settings:
    """The page's own settings (the API's defaults unless the URL or the sidebar says otherwise)."""

    lookback_days: int = DEFAULTS[LOOKBACK_DAYS]
    half_life_days: float = DEFAULTS[HALF_LIFE_DAYS]
    conversions: str = DEFAULTS[CONVERSIONS]

    def query(self) -> dict[str, str]:
        """The URL keys of the settings that are not their default, as the URL writes them."""
        return {key: number_text(value) if key != CONVERSIONS else value
                for key, value in self.values().items() if value != DEFAULTS[key]}

    def values(self) -> dict[str, Any]:
        return {LOOKBACK_DAYS: self.lookback_days, HALF_LIFE_DAYS: self.half_life_days, CONVERSIONS: self.conversions}

    def params(self, view: View) -> AttributionParams:
        """The ``/attribution`` question of ``view`` with these settings (``top_paths`` at its default)."""
        return parse_attribution_params({**view.params.to_request(), **self.values()})

    def describe(self) -> str:
        """The settings in words (Markdown)."""
        which = "each person's first conversion" if self.conversions == "first" else "every conversion"
        return (f"**Credited:** {which} · **Lookback:** {number_text(self.lookback_days)} days · "
                f"**Half-life:** {number_text(self.half_life_days)} days")


def number_text(value: int | float) -> str:
    """A setting as the URL writes it: ``90``, ``7``, ``2.5`` (never ``7.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def settings_from(query: Mapping[str, Any]) -> Settings:
    """The settings of a (checked) query; a missing or unusable value is its default."""
    values: dict[str, Any] = {}
    for key in KEYS:
        value = query.get(key)
        if value is None or value == "":
            continue
        if _problem(key, str(value) if not isinstance(value, str) else value) is None:
            values[key] = _typed(key, value)
    return Settings(**values)


def check_url(raw: Mapping[str, Sequence[str]]) -> tuple[list[Notice], dict[str, str]]:
    """The page's keys of a raw query string: what was wrong (in words) and the usable values.

    A bad value (not a number, out of range, not a choice, given twice) is
    dropped with a warning naming it, so its default applies. Other keys are
    not looked at (the sidebar checks them).
    """
    notices: list[Notice] = []
    kept: dict[str, str] = {}
    for key in KEYS:
        if key not in raw:
            continue
        values = list(raw[key])
        if len(values) > 1:
            notices.append(Notice("warning", f"The link gives **{LABELS[key]}** ({markdown_text(key)}) "
                                             f"{len(values)} times; it takes one value, so it shows {_default(key)}."))
            continue
        value = values[0] if values else ""
        if value == "":
            continue
        problem = _problem(key, value)
        if problem is not None:
            notices.append(Notice("warning", f"The link's **{LABELS[key]}** ({markdown_text(key)}) "
                                             f"{markdown_text(quoted(value))} {problem}, so it shows {_default(key)}."))
            continue
        typed = _typed(key, value)
        if typed != DEFAULTS[key]:
            kept[key] = number_text(typed) if key != CONVERSIONS else typed
    return notices, kept


def split_url(url_path: str, raw: Mapping[str, Sequence[str]]) -> tuple[dict[str, Sequence[str]], list[Notice], dict[str, str]]:
    """For the page at ``url_path``: the query without this page's keys (for the sidebar's check), what was
    wrong with them and their usable values. Other pages have no keys of their own here."""
    if url_path != PAGE:
        return dict(raw), [], {}
    rest = {key: values for key, values in raw.items() if key not in KEYS}
    notices, kept = check_url(raw)
    return rest, notices, kept


def _problem(key: str, value: str) -> str | None:
    """Why a URL value cannot be used, in words; ``None`` when it can."""
    if key == CONVERSIONS:
        return None if value in ATTRIBUTED_CONVERSIONS else f"is not one of the choices ({', '.join(ATTRIBUTED_CONVERSIONS)})"
    wanted = (f"is not a whole number from {LOOKBACK_MIN} to {LOOKBACK_MAX}" if key == LOOKBACK_DAYS else
              f"is not a number of days from {number_text(HALF_LIFE_MIN)} to {number_text(HALF_LIFE_MAX)}")
    try:
        number = parameter_from_text(key, value.strip())
        parse_attribution_params({key: number})
    except ParameterError:
        return wanted
    if key == HALF_LIFE_DAYS and number < HALF_LIFE_MIN:
        return wanted
    return None


def _typed(key: str, value: Any) -> Any:
    if key == CONVERSIONS:
        return value
    number = parameter_from_text(key, value.strip()) if isinstance(value, str) else value
    # A field's steps can leave 2.5000000000000004: six decimals are more than a half-life needs.
    return int(number) if key == LOOKBACK_DAYS else round(float(number), 6)


def _default(key: str) -> str:
    if key == CONVERSIONS:
        return f"“{CONVERSION_LABELS[DEFAULTS[key]]}”"
    return f"the default ({number_text(DEFAULTS[key])} days)"


_UNSAFE = re.compile(r"[^A-Za-z0-9.]+")


def download_stem(view: View, settings: Settings) -> str:
    """The download's file name without extension: the view's (window and filters), ``attribution``, and each
    setting that is not its default: ``insights_2025-07-01_2025-07-31_attribution_lookback_days-7``."""
    parts = [file_stem(view.params.to_request(), view.filters), "attribution"]
    parts += [f"{key}-{_UNSAFE.sub('-', value)}" for key, value in settings.query().items()]
    return "_".join(parts)
