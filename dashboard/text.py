"""Values from a URL, a file or the store, made safe to show: as text, never as markup.

Streamlit renders Markdown (links, images, directives such as
``:red[…]``, LaTeX) in ``st.markdown``, captions, alerts, labels, help
tooltips and metric labels; Plotly renders a subset of HTML (``<a>``,
``<b>``, ``<br>``, ``<span style>``) in axis labels, hover texts and legends.
A campaign named ``[log in](https://evil.example)`` or a medium of
``<a href="https://evil.example">x</a>`` must show exactly those characters
and do nothing else. Everything a page shows that it did not write itself
goes through one of the two helpers here:

- :func:`markdown_text` for anything Streamlit reads as Markdown;
- :func:`plot_label` for anything Plotly reads as a label.

``st.code``, ``st.json``, ``st.dataframe`` cells and selectbox options show
plain text already and need neither.
"""

from __future__ import annotations

import html
import re
import unicodedata

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$&\"'=^%@,;/?])")
"""Every ASCII punctuation character Markdown, GitHub's extensions and Streamlit's directives can act on.
CommonMark lets any ASCII punctuation be backslash-escaped, so escaping them all costs nothing."""

_LINE_BREAKS = re.compile(r"[\r\n\t\v\f\u0085\u2028\u2029]+")

WORD_JOINER = "\u2060"
"""An invisible character that keeps text from reading as a web or mail address."""

_AUTOLINK_STARTS = re.compile(r"(?i)(?<=https:)|(?<=http:)|(?<=ftp:)|(?<=mailto:)|(?<=xmpp:)|(?<=www)(?=\.)|(?<=@)")
"""Where GitHub-flavoured Markdown would turn plain text into a link after parsing (backslash escapes
do not stop that): after a scheme's colon, between ``www`` and its dot, after ``@``."""

ELLIPSIS = "…"


def markdown_text(value: object, limit: int | None = None) -> str:
    """``value`` as Markdown that shows its exact characters, on one line.

    Every punctuation character is backslash-escaped (no link, image, code
    span, emphasis, heading, directive or math can form); an invisible word
    joiner goes where an address would otherwise be linked automatically
    (``https:⁠//``, ``www⁠.``, ``@⁠``); line breaks become spaces (nothing can
    start a new block) and other control characters are dropped. ``limit``
    cuts long values with an ellipsis.
    """
    text = _one_line(value)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + ELLIPSIS
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _AUTOLINK_STARTS.sub(WORD_JOINER, text))


def plot_label(value: object, limit: int | None = None) -> str:
    """``value`` as a Plotly label that shows its exact characters: no tag renders, no link forms.

    ``&``, ``<`` and ``>`` become HTML entities (Plotly shows them as the
    characters), line breaks become spaces. ``limit`` cuts long values with
    an ellipsis (before escaping, so an entity is never cut in half).
    """
    text = _one_line(value)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + ELLIPSIS
    return html.escape(text, quote=False)


def _one_line(value: object) -> str:
    text = value if isinstance(value, str) else str(value)
    text = _LINE_BREAKS.sub(" ", text)
    return "".join(character for character in text if unicodedata.category(character) not in ("Cc", "Cs"))
