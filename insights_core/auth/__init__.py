"""Who may use the HTTP API, and the small settings kept beside a store (docs/architecture.md#settings-file).

``settings``: the settings file ``<db>.settings.json`` (named sections, mode
600, atomic merged writes). ``keys``: API keys stored there as hashes, and
what a server accepts. ``legacy``: moving the keys of an older store out of
its analytics data.
"""

from __future__ import annotations

from .keys import ApiKeyError, ApiKeyInfo
from .settings import SettingsError, SettingsFile

__all__ = ["ApiKeyError", "ApiKeyInfo", "SettingsError", "SettingsFile"]
