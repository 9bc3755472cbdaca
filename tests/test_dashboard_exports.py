"""What the dashboard hands out: channel table and CSV, curl and CLI commands (SPEC 4.4, 5.2)."""

from __future__ import annotations

import io
import json
import shlex

import pandas as pd

from dashboard.exports import channel_csv, channel_frame, cli_command, curl_command

CHANNELS = [
    {"channel": "organic/google.com", "total_sessions": 696, "total_users": 542,
     "converting_users_first_touch": 40, "converting_users_assisting_touch": 27,
     "converting_users_converting_touch": 35, "converting_users_after_touch": 18,
     "session_influence": "9.50%", "conversion_influence": "49.65%", "attributed_to_conversion": 71,
     "conversion_rate": "13.10%"},
    {"channel": "(none)/(direct)", "total_sessions": 591, "total_users": 351,
     "converting_users_first_touch": 18, "converting_users_assisting_touch": 11,
     "converting_users_converting_touch": 32, "converting_users_after_touch": 30,
     "session_influence": "22.66%", "conversion_influence": "30.07%", "attributed_to_conversion": 43,
     "conversion_rate": "12.25%"},
]


def test_percentages_are_numbers_so_they_sort_as_numbers():
    frame = channel_frame(CHANNELS)
    assert frame["session_influence_pct"].dtype == "float64"
    assert frame["total_sessions"].dtype == "int64"
    # As strings "9.50%" sorts above "22.66%"; as numbers it is below.
    assert list(frame.sort_values("session_influence_pct", ascending=False)["channel"]) == [
        "(none)/(direct)", "organic/google.com"]
    assert list(frame["channel"]) == [channel["channel"] for channel in CHANNELS]


def test_csv_round_trips_the_response():
    table = pd.read_csv(io.StringIO(channel_csv(CHANNELS)))
    assert table.loc[0, "conversion_influence_pct"] == 49.65
    assert table.loc[1, "attributed_to_conversion"] == 43
    assert channel_frame([]).empty


def test_curl_and_cli_carry_the_request_body():
    body = {"start_date": "2025-07-01T00:00:00Z", "end_date": "2025-07-31T23:59:59.999999Z",
            "landing_page": "https://a.com/it's?x=1"}
    curl = curl_command(body, "http://localhost:8000/")
    words = shlex.split(curl.replace("\\\n", " "))
    assert words[:5] == ["curl", "-sS", "-X", "POST", "http://localhost:8000/api/v1/insights"]
    assert "Authorization: Bearer $INSIGHTS_API_KEY" in words
    assert json.loads(words[words.index("-d") + 1]) == body

    cli = shlex.split(cli_command(body, "/data/my insights.duckdb"))
    assert cli[:4] == ["insights", "query", "--db", "/data/my insights.duckdb"]
    assert json.loads(cli[cli.index("--params") + 1]) == body
