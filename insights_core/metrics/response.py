"""How an answer is written out as JSON: one serialisation for the CLI, the API and the dashboard.

The CLI's output, the API's body and the dashboard's JSON download are the
same bytes because all three call :func:`to_json` (docs/metrics.md#response).
"""

from __future__ import annotations

import json
from typing import Any, Mapping


def to_json(document: Mapping[str, Any]) -> str:
    """An answer as JSON text: keys in the answer's order, non-ASCII kept as UTF-8, a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
