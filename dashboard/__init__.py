"""The Streamlit dashboard's own code: rendering helpers shared by ``app.py`` and ``pages/``.

Nothing here computes a metric: numbers come from
:func:`insights_core.compute_insights`, stored facts from
:mod:`insights_core.catalog`. This package only formats, caches and lays out.
"""
