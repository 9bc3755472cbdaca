"""Messages on a page, and the guard that keeps any unexpected error a message.

The product's rule: bad input or a bad stored value gives a clear message,
never a traceback. Pages run inside :func:`guarded`, which logs the error
with an id (on logger ``insights.dashboard``) and shows that id, so the
server log leads to the cause while the page says in words what happened.
"""

from __future__ import annotations

import logging
import secrets
from contextlib import contextmanager
from typing import Iterable, Iterator

import streamlit as st

from insights_core import StoreError

from ..text import markdown_text
from ..view import Notice

LOG = logging.getLogger("insights.dashboard")


def show_notices(notices: Iterable[Notice], container=None) -> None:
    """Warnings and infos about the URL or the filters (their text is Markdown with values escaped)."""
    where = container or st
    for notice in notices:
        if notice.level == "warning":
            where.warning(notice.text, icon=":material/link:")
        else:
            where.info(notice.text, icon=":material/info:")


@contextmanager
def guarded(what: str) -> Iterator[None]:
    """Run a part of a page; an error in it becomes a message naming ``what``, the rest still draws.

    ``what`` is our own words ("This page", "The filters"). Streamlit's own
    control flow (``st.rerun``, ``st.stop``) is not an ``Exception`` and
    passes through.
    """
    try:
        yield
    except StoreError as error:
        LOG.warning("the database cannot be opened: %s", error)
        st.error(f"**The database cannot be opened.** {markdown_text(error)}", icon=":material/error:")
    except Exception as error:  # noqa: BLE001 - every failure is shown as a message, never a traceback
        incident = secrets.token_hex(4)
        LOG.exception("error %s while drawing %s", incident, what)
        st.error(
            f"**{what} could not be shown.** Something unexpected went wrong "
            f"({markdown_text(type(error).__name__)}, error id {incident}; the server log has the details). "
            "Nothing stored was changed.",
            icon=":material/error:",
        )
