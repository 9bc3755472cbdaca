"""Pieces of the dashboard that pages put together; a page only decides where they go.

- :mod:`.notices` — messages, and the guard that turns an unexpected error into one
- :mod:`.header` — a page's title and the view it shows, in words
- :mod:`.cards` — metric cards with their change against the comparison
- :mod:`.charts` — charts with a title, an accessible name and their data one click away
- :mod:`.tables` — tables that sort numbers as numbers
- :mod:`.downloads` — download buttons whose file names say what is inside

A new kind of view (a trend, a breakdown, attribution) adds a figure
function to ``charts``, a table to ``tables`` and, when it can be
downloaded, a button to ``downloads``; its numbers come from one more
method of :class:`dashboard.data.Store`.
"""
