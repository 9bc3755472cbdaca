"""Data page: what the store holds, loading your files (SPEC 1.3: all or nothing), demo data.

Loads write a private copy of the store and rename it over the live file
(``StoreFile.edit``), so people viewing insights in other sessions keep
seeing the previous data until the new version is complete, and a failed
load leaves the store exactly as it was.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd
import streamlit as st

from dashboard import data
from dashboard.navigation import require_frame
from dashboard.formatting import format_count, format_day, format_moment
from insights_core import LoadError

_FLASH = "_insights_data_flash"
UPLOAD_TYPES = ["csv", "tsv", "gz", "parquet", "pq"]


def progress_reporter(bar) -> Callable[[str, float], None]:
    """The loader's ``progress`` callback, drawn on an ``st.progress`` bar."""
    return lambda stage, fraction: bar.progress(min(max(fraction, 0.0), 1.0), text=f"{stage} …")


def show_failure(error: Exception) -> None:
    """SPEC 1.3 errors: what was wrong, and that nothing was stored."""
    if isinstance(error, LoadError) and error.violations:
        details = "\n".join(f"- {violation}" for violation in error.violations)
    else:
        text = " ".join(str(error).split())
        details = f"- {text.removeprefix('nothing was stored: ')}" if isinstance(error, LoadError) else (
            f"- the load failed ({type(error).__name__}): {text}")
    st.error(f"**Nothing was stored; the data is unchanged.**\n\n{details}", icon=":material/error:")


def describe_files(label: str | None) -> str:
    """A load's files as people know them: uploaded names, or demo data for in-memory tables."""
    if not label:
        return "—"
    if label.endswith("(in memory)"):
        return "generated demo data"
    return data.uploaded_names(label)


require_frame()
store_file = data.store()
path, version = data.cache_key(store_file)
summary = data.store_summary(store_file, path, version)

st.title("Data")
flash = st.session_state.pop(_FLASH, None)
if flash:
    st.success("\n\n".join(flash), icon=":material/check_circle:")

st.subheader("What is stored")
st.caption(f"Database: `{store_file.path}` (set `INSIGHTS_DB` to use another file)")
for column, (label, value) in zip(
    st.columns(5),
    (("Sessions", summary.sessions), ("Conversions", summary.conversions), ("Users", summary.users),
     ("Converted users", summary.converted_users), ("Channels", len(summary.channels))),
):
    column.metric(label, format_count(value), border=True)
if summary.first_session_at is not None:
    st.markdown(f"Sessions start from **{format_day(summary.first_session_at)}** to "
                f"**{format_day(summary.last_session_at)}** (UTC).")
last_load = summary.last_load
if last_load is not None:
    st.markdown(
        f"Last load: **{format_moment(last_load.loaded_at)}** — "
        f"{format_count(last_load.sessions_rows)} sessions from {describe_files(last_load.sessions_files)}, "
        f"{format_count(last_load.conversions_rows)} conversions from {describe_files(last_load.conversions_files)}"
        f"{' (replaced the stored data)' if last_load.replaced else ' (appended)'}."
    )
channels_column, loads_column = st.columns(2)
with channels_column.expander(f"Channels ({len(summary.channels)})"):
    st.dataframe(
        pd.DataFrame(summary.channels, columns=["channel", "sessions"]), hide_index=True, width="stretch",
        column_config={"sessions": st.column_config.NumberColumn(format="localized")},
    )
with loads_column.expander(f"Load history ({len(summary.loads)} latest)"):
    st.dataframe(
        pd.DataFrame(
            [(load.loaded_at, describe_files(load.sessions_files), load.sessions_rows,
              describe_files(load.conversions_files), load.conversions_rows, load.replaced) for load in summary.loads],
            columns=["loaded at (UTC)", "sessions from", "sessions", "conversions from", "conversions", "replaced"],
        ),
        hide_index=True, width="stretch",
    )

st.subheader("Load your files")
st.markdown(
    "CSV or Parquet with the columns described in the README (**sessions**: `session_id`, `user_id`, "
    "`started_at`, …; **conversions**: `conversion_id`, `session_id`, `converted_at`, …). A load is all "
    "or nothing: if any row breaks a rule, nothing is stored and every broken rule is listed."
)
with st.form("upload", border=True):
    sessions_column, conversions_column = st.columns(2)
    sessions_upload = sessions_column.file_uploader("sessions file", type=UPLOAD_TYPES, key="sessions_upload")
    conversions_upload = conversions_column.file_uploader("conversions file", type=UPLOAD_TYPES, key="conversions_upload")
    replace = st.checkbox("Replace the stored sessions and conversions instead of adding to them", key="replace_stored")
    load_clicked = st.form_submit_button("Load files", type="primary", icon=":material/upload:")
if load_clicked:
    if sessions_upload is None and conversions_upload is None:
        st.warning("Choose a sessions file, a conversions file, or both.")
    else:
        bar = st.progress(0.0, text="Starting the load …")
        try:
            report = data.load_uploads(
                store_file, sessions_upload, conversions_upload, replace=replace,
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
st.markdown("Realistic synthetic sessions and conversions for the 90 days ending now. "
            "**This replaces the stored sessions and conversions.**")
with st.form("demo", border=True):
    users_column, seed_column = st.columns(2)
    users = users_column.number_input("users", min_value=100, max_value=2_000_000, value=data.FIRST_START_DEMO_USERS,
                                      step=1_000, key="demo_users")
    seed = seed_column.number_input("seed", min_value=0, value=7, step=1, key="demo_seed")
    confirmed = st.checkbox(f"Replace the {format_count(summary.sessions)} stored sessions", key="demo_confirm") \
        if summary.sessions else True
    demo_clicked = st.form_submit_button("Create demo data", icon=":material/auto_awesome:")
if demo_clicked:
    if not confirmed:
        st.warning("Tick the box to confirm that the stored data is replaced.")
    else:
        bar = st.progress(0.0, text="Generating demo data …")
        try:
            report = data.create_demo(store_file, int(users), int(seed), progress_reporter(bar))
        except Exception as error:  # noqa: BLE001
            bar.empty()
            show_failure(error)
        else:
            st.session_state[_FLASH] = report.lines()
            st.rerun()
