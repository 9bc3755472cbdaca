"""The two helpers that make values from a URL, a file or the store safe to show: Markdown and Plotly labels.

What Streamlit and Plotly finally render is checked in the real browser (tests/browser); here the
helpers' promises: every character that can start markup is escaped, nothing is lost, one line."""

from __future__ import annotations

import html
import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.text import WORD_JOINER, markdown_text, plot_label

HOSTILE = [
    "[Session expired - log in](https://evil.example/login)",
    "![i](https://evil.example/x.png)",
    "x` [click](https://evil.example) `y",
    '<a href="https://evil.example">x</a>',
    "<b>bold</b><img src=https://evil.example/x.png>",
    "https://evil.example/autolink www.evil.example",
    ":red[alarm] :material/warning: $x^2$ **strong** _em_ ~~gone~~",
    "# heading\n\n- list\n> quote\r\n1. item",
    "&lt;b&gt;entity&lt;/b&gt; &#x3C;a&#x3E;",
]


ASCII_PUNCTUATION = r"[!-/:-@\[-`{-~]"


def unescape_markdown(text: str) -> str:
    """The characters a reader sees: escapes removed, and the invisible word joiners."""
    return re.sub(r"\\(" + ASCII_PUNCTUATION + ")", r"\1", text).replace(WORD_JOINER, "")


def shown(value: str) -> str:
    """What a value should read as: line breaks as one space, control characters gone."""
    one_line = re.sub(r"[\r\n\t\v\f\x85\u2028\u2029]+", " ", value)
    return "".join(character for character in one_line if unicodedata.category(character) not in ("Cc", "Cs"))


@pytest.mark.parametrize("value", HOSTILE)
def test_markdown_text_escapes_every_markup_character(value):
    text = markdown_text(value)
    assert "\n" not in text and "\r" not in text
    # Every ASCII punctuation character comes escaped: none is left once the escaped pairs are removed.
    assert not re.search(ASCII_PUNCTUATION, re.sub(r"\\" + ASCII_PUNCTUATION, "", text))
    assert unescape_markdown(text) == shown(value)


@given(st.text())
def test_markdown_text_keeps_every_visible_character(value):
    text = markdown_text(value)
    assert "\n" not in text
    assert unescape_markdown(text) == shown(value)
    assert html.unescape(plot_label(value)) == shown(value)


@pytest.mark.parametrize("address", ["https://evil.example/x", "HTTP://evil.example", "www.evil.example",
                                     "someone@evil.example", "mailto:someone@evil.example", "xmpp:a@evil.example"])
def test_markdown_text_keeps_addresses_from_being_linked(address):
    # GitHub-flavoured Markdown links addresses in plain text after parsing, escapes or not.
    text = unescape_markdown(markdown_text(address)).replace(WORD_JOINER, "")
    assert text == address
    joined = markdown_text(address).replace("\\", "")
    assert not re.search(r"(?i)(https?|ftp|mailto|xmpp):[^\u2060]|www\.|@[^\u2060]", joined)


def test_markdown_text_cuts_long_values():
    assert markdown_text("a" * 500, limit=10) == "a" * 9 + "…"
    assert markdown_text(12345) == "12345"


@pytest.mark.parametrize("value", HOSTILE)
def test_plot_label_leaves_no_tag(value):
    label = plot_label(value)
    assert "<" not in label and ">" not in label and "\n" not in label
    assert html.unescape(label) == shown(value)


def test_plot_label_cuts_before_escaping():
    assert plot_label("<" * 40, limit=5) == "&lt;" * 4 + "…"
