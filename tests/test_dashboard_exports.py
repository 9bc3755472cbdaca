"""What the dashboard hands out besides tables: file names that say the filters, and the same question
as an API and a CLI call (docs/api.md#http-api, docs/api.md#command-line)."""

from __future__ import annotations

import json
import shlex

from dashboard.exports import cli_command, curl_command, file_stem


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


def test_the_trend_and_the_breakdown_have_their_own_endpoint_and_command():
    body = {"start_date": "2025-07-01T00:00:00Z", "end_date": "2025-07-31T23:59:59.999999Z", "interval": "week"}
    for command, endpoint in (("timeseries", "/api/v1/timeseries"), ("breakdown", "/api/v1/breakdown")):
        words = shlex.split(curl_command(body, "http://localhost:8000", command).replace("\\\n", " "))
        assert words[4] == "http://localhost:8000" + endpoint
        assert json.loads(words[words.index("-d") + 1]) == body
        cli = shlex.split(cli_command(body, "/data/x.duckdb", command))
        assert cli[:2] == ["insights", command] and json.loads(cli[cli.index("--params") + 1]) == body


def test_file_names_carry_the_window_and_every_filter():
    whole_days = {"start_date": "2025-07-01T00:00:00Z", "end_date": "2025-07-31T23:59:59.999999Z"}
    assert file_stem(whole_days) == "insights_2025-07-01_2025-07-31"
    assert file_stem(whole_days, {"source": "google.com", "touch_scope": "first"}) == (
        "insights_2025-07-01_2025-07-31_source-google.com_touch_scope-first")
    # The default window is to the minute; a filtered export is never named like an unfiltered one.
    moments = {"start_date": "2026-10-29T10:41:22.123456Z", "end_date": "2026-11-28T10:41:22.123456Z"}
    assert file_stem(moments) == "insights_2026-10-29T1041_2026-11-28T1041"


def test_file_names_keep_only_safe_characters():
    whole_days = {"start_date": "2025-07-01T00:00:00Z", "end_date": "2025-07-31T23:59:59.999999Z"}
    stem = file_stem(whole_days, {"landing_page": "https://acme.com/a b/?x=1&y='2'", "campaign": "../../etc/passwd",
                                  "medium": '<a href="https://evil.example">x</a>' * 5})
    assert stem == ("insights_2025-07-01_2025-07-31_landing_page-https-acme.com-a-b-x-1-y-2"
                    "_campaign-etc-passwd_medium-a-href-https-evil.example-x-a-a-href-htt")
    assert "/" not in stem and ".." not in stem
