"""Helpers shared by the Spark tests."""

from __future__ import annotations

from datetime import datetime, timedelta


def example_dataset(users: int = 3, sessions_per_user: int = 4) -> tuple[list[dict], list[dict]]:
    """A small fixed dataset in the shape of test_compute_vs_reference's: several channels, conversions, exits."""
    base = datetime(2025, 7, 1)
    sources = [None, "google", "newsletter", "Google"]
    mediums = [None, "cpc", "email", None]
    sessions, conversions = [], []
    for user in range(users):
        for index in range(sessions_per_user):
            started = base + timedelta(hours=31 * index + 5 * user, minutes=user)
            sessions.append({
                "session_id": f"s{user}-{index}", "user_id": f"u{user}", "started_at": started,
                "exited_at": None if (user + index) % 3 == 0 else started + timedelta(seconds=90 * (index + 1)),
                "landing_page": "https://acme.test/pricing" if index % 2 else "https://acme.test/",
                "utm_source": sources[(user + index) % 4], "utm_medium": mediums[(user + index) % 4],
                "utm_campaign": "spring" if index == 1 else None, "utm_content": None, "utm_term": None,
            })
            if (user + index) % 3 == 2:
                conversions.append({
                    "conversion_id": f"c{len(conversions)}", "session_id": f"s{user}-{index}",
                    "converted_at": started + timedelta(seconds=45), "conversion_page": "https://acme.test/demo",
                    "meta_type": "hubspot_form", "meta_id": "f1",
                })
    return sessions, conversions
