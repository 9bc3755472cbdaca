"""Data page: what the store holds, loading your files (all or nothing), demo data.

Loads write a private copy of the store and rename it over the live file
(``StoreFile.edit``), so people viewing insights in other sessions keep
seeing the previous data until the new version is complete, and a failed
load leaves the store exactly as it was (docs/data.md#loading-rules).
Every file name and value shown here is escaped: an uploaded file called
``[x](https://…).csv`` shows as that text. Layout only; no analysis sidebar.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.formatting import format_count, format_moment, format_span
from dashboard.navigation import require_frame
from dashboard.text import markdown_text
from insights_core import LoadError
from insights_core.wording import counted

_FLASH = "_insights_data_flash"
UPLOAD_TYPES = ["csv", "tsv", "gz", "parquet", "pq"]


def progress_reporter(bar) -> Callable[[str, float], None]:
    """The loader's ``progress`` callback, drawn on an ``st.progress`` bar."""
    return lambda stage, fraction: bar.progress(min(max(fraction, 0.0), 1.0), text=f"{markdown_text(stage)} …")


def show_failure(error: Exception) -> None:
    """A failed load: what was wrong (file names and values escaped), and that nothing was stored."""
    if isinstance(error, LoadError) and error.violations:
        details = "\n".join(f"- {markdown_text(violation)}" for violation in error.violations)
    else:
        text = " ".join(str(error).split())
        details = (f"- {markdown_text(text.removeprefix('nothing was stored: '))}" if isinstance(error, LoadError)
                   else f"- the load failed ({markdown_text(type(error).__name__)}): {markdown_text(text)}")
    st.error(f"**Nothing was stored; the data is unchanged.**\n\n{details}", icon=":material/error:")


def describe_files(label: str | None) -> str:
    """A load's files as people know them: uploaded names, or demo data for in-memory tables (plain text)."""
    if not label:
        return "—"
    if label.endswith("(in memory)"):
        return "generated demo data"
    return data.uploaded_names(label)


def data_page(store: data.Store) -> None:
    summary = store.summary()

    st.title("Data")
    slot = st.empty()  # drawn on every run, so the message coming and going moves nothing below it
    flash = st.session_state.pop(_FLASH, None)
    if flash:
        slot.success("\n\n".join(markdown_text(line) for line in flash), icon=":material/check_circle:")

    st.subheader("What is stored")
    st.caption(f"Database: {markdown_text(store.file.path)} (set INSIGHTS\\_DB to use another file)")
    for column, (label, value) in zip(
        st.columns(5),
        (("Sessions", summary.sessions), ("Conversions", summary.conversions), ("Users", summary.users),
         ("Converted users", summary.converted_users), ("Channels", len(summary.channels))),
    ):
        column.metric(label, format_count(value), border=True)
    if summary.first_session_at is not None and summary.last_session_at is not None:
        st.markdown(f"Sessions start from **{format_span(summary.first_session_at.date(), summary.last_session_at.date())}** "
                    "(UTC).")
    if summary.outside_sessions:
        st.warning(f"{counted(summary.outside_sessions, 'stored session')} started outside the years 1900–9999 "
                   "(an older release stored them). They are in no window; load those files again to have them "
                   "checked (docs/data.md#timestamps).", icon=":material/history:")
    last_load = summary.last_load
    if last_load is not None:
        when = format_moment(last_load.loaded_at) if last_load.loaded_at else "at an unreadable time"
        st.markdown(
            f"Last load: **{when}** — "
            f"{counted(last_load.sessions_rows, 'session')} from {markdown_text(describe_files(last_load.sessions_files))}, "
            f"{counted(last_load.conversions_rows, 'conversion')} from "
            f"{markdown_text(describe_files(last_load.conversions_files))}"
            f"{' (replaced the stored data)' if last_load.replaced else ' (appended)'}."
        )
    channels_column, loads_column = st.columns(2)
    with channels_column.expander(f"Channels ({len(summary.channels):,})"):
        st.dataframe(
            pd.DataFrame(summary.channels, columns=["channel", "sessions"]), hide_index=True, width="stretch",
            column_config={"sessions": st.column_config.NumberColumn(format="localized")},
        )
    with loads_column.expander(f"Load history ({len(summary.loads):,} latest)"):
        st.dataframe(
            pd.DataFrame(
                [(load.loaded_at, describe_files(load.sessions_files), load.sessions_rows,
                  describe_files(load.conversions_files), load.conversions_rows, load.replaced)
                 for load in summary.loads],
                columns=["loaded at (UTC)", "sessions from", "sessions", "conversions from", "conversions", "replaced"],
            ),
            hide_index=True, width="stretch",
        )

    st.subheader("Load your files")
    st.markdown(
        "CSV or Parquet with the columns described in docs/data.md (**sessions**: session\\_id, user\\_id, "
        "started\\_at, …; **conversions**: conversion\\_id, session\\_id, converted\\_at, …). A load is all "
        "or nothing: if any row breaks a rule, nothing is stored and every broken rule is listed."
    )
    with st.form("upload", border=True):
        sessions_column, conversions_column = st.columns(2)
        sessions_upload = sessions_column.file_uploader("Sessions file", type=UPLOAD_TYPES, key="sessions_upload")
        conversions_upload = conversions_column.file_uploader("Conversions file", type=UPLOAD_TYPES,
                                                              key="conversions_upload")
        replace = st.checkbox("Replace the stored sessions and conversions instead of adding to them",
                              key="replace_stored")
        load_clicked = st.form_submit_button("Load files", type="primary", icon=":material/upload:")
    if load_clicked:
        if sessions_upload is None and conversions_upload is None:
            st.warning("Choose a sessions file, a conversions file, or both.")
        else:
            bar = st.progress(0.0, text="Starting the load …")
            try:
                report = data.load_uploads(
                    store.file, sessions_upload, conversions_upload, replace=replace,
                    progress=progress_reporter(bar),
                    waiting=lambda: bar.progress(0.0, text="Waiting for another load to finish …"),
                )
            except Exception as error:  # noqa: BLE001 - every failure is shown, never a traceback
                bar.empty()
                show_failure(error)
            else:
                st.session_state[_FLASH] = report.lines()
                st.rerun()

    st.subheader("Demo data")
    st.markdown("Realistic made-up sessions and conversions for the 90 days ending now. "
                "**This replaces the stored sessions and conversions.**")
    with st.form("demo", border=True):
        users_column, seed_column = st.columns(2)
        users = users_column.number_input("Users", min_value=100, max_value=2_000_000,
                                          value=data.FIRST_START_DEMO_USERS, step=1_000, key="demo_users")
        seed = seed_column.number_input("Seed", min_value=0, value=7, step=1, key="demo_seed",
                                        help="The same seed gives the same made-up data.")
        confirmed = st.checkbox(f"Replace the {counted(summary.sessions, 'stored session')}", key="demo_confirm") \
            if summary.sessions else True
        demo_clicked = st.form_submit_button("Create demo data", icon=":material/auto_awesome:")
    if demo_clicked:
        if not confirmed:
            st.warning("Tick the box to confirm that the stored data is replaced.")
        else:
            bar = st.progress(0.0, text="Generating demo data …")
            try:
                report = data.create_demo(store.file, int(users), int(seed), progress_reporter(bar))
            except Exception as error:  # noqa: BLE001
                bar.empty()
                show_failure(error)
            else:
                st.session_state[_FLASH] = report.lines()
                st.rerun()


require_frame()
data_page(data.current())
