"""The HTTP API (docs/api.md#http-api), tested against a real ``insights serve`` (uvicorn) on a free loopback port.

One server per module answers most tests: demo data covering July 2025 (so
the public doc's examples find users), one stored key made with ``insights
apikey create`` and two keys from ``INSIGHTS_API_KEYS``. A second server in
``--insecure-no-auth`` mode takes the tests that change its database (a load
while serving, a broken file for the 500). Every answer is compared byte for
byte with ``to_json(compute_insights(...))`` on the same file, which is also
what ``insights query`` prints.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

import insights_core
from api_server import ApiServer, clean_env, insights_command
from support import make_demo_db
from insights_core.api.limits import MAX_BODY_BYTES
from insights_core.api.schema import (
    ATTRIBUTION_OPTIONS_EXAMPLE,
    ATTRIBUTION_REQUEST_EXAMPLE,
    ATTRIBUTION_RESPONSE_EXAMPLE,
    RESPONSE_EXAMPLE,
    TIME_FRAME_EXAMPLE,
    TOUCH_SCOPE_EXAMPLE,
    AttributionResponse,
    BreakdownResponse,
    InsightsResponse,
    NoDataResponse,
    TimeseriesResponse,
)
from insights_core.auth import keys as apikeys
from insights_core.auth.settings import SettingsFile
from insights_core.demo import generate_demo
from insights_core.storefile import StoreFile
from insights_core.vocabulary import BREAKDOWN_DIMENSIONS, CHANNEL_GROUPS, INSIGHTS_PARAMETERS, TOUCH_SCOPES, TREND_INTERVALS

PARAMETER_NAMES: tuple[str, ...] = INSIGHTS_PARAMETERS
"""Every parameter of /insights, in the documented order: what the OpenAPI request models list first."""

ENDPOINT = "/api/v1/insights"
DEMO_END = datetime(2025, 8, 10, tzinfo=timezone.utc)
ENV_KEYS = ("env-key-" + secrets.token_urlsafe(24), "env-key-" + secrets.token_urlsafe(24))
TYPICAL = [
    TIME_FRAME_EXAMPLE,
    TOUCH_SCOPE_EXAMPLE,
    {"start_date": "2025-06-01", "end_date": "2025-08-10", "medium": "organic"},
    {"start_date": "2025-07-01T00:00:00+02:00", "end_date": "2025-07-20T12:00:00Z", "touch_scope": "assist"},
    {"start_date": "2025-05-01", "end_date": "2025-08-10", "meta_type": "hubspot_form", "touch_scope": "first"},
    {"start_date": "2025-07-01", "end_date": "2025-07-31", "source": "no-such-source.example"},
]
# The public doc's first example exactly as printed: invalid JSON because of the comma after "2025-07-30".
DOC_EXAMPLE_AS_PRINTED = '{\n  "start_date": "2025-07-15",\n  "end_date": "2025-07-30",\n}'


def run_insights(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(insights_command(*args), capture_output=True, text=True, timeout=120,
                          env=env or clean_env())


def create_key(db: Path, name: str) -> str:
    result = run_insights("apikey", "create", "--db", str(db), "--name", name)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[-1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The main server: demo data, one stored key and two environment keys."""
    workdir = tmp_path_factory.mktemp("api")
    db = make_demo_db(workdir / "demo.duckdb", users=300, seed=3, end=DEMO_END)
    key = create_key(db, "tests")
    env = clean_env(INSIGHTS_API_KEYS=f" {ENV_KEYS[0]} ,{ENV_KEYS[1]},, ")
    api = ApiServer(db, workdir / "server.log", env=env).start()
    api.key = key
    yield api
    api.stop()


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.base_url, timeout=30, headers={"Authentication": server.key}) as http:
        yield http


@pytest.fixture(scope="module")
def insecure_server(tmp_path_factory):
    """A server without keys in --insecure-no-auth mode, on a database the tests may change."""
    workdir = tmp_path_factory.mktemp("insecure")
    db = make_demo_db(workdir / "open.duckdb", users=300, seed=5, end=DEMO_END)
    api = ApiServer(db, workdir / "server.log", options=["--insecure-no-auth"]).start()
    yield api
    api.stop()


def expected_bytes(db: Path, params: dict, compute=insights_core.compute_insights) -> bytes:
    """What the core answers on the same file: ``to_json(compute(con, params))``, ``compute_insights`` by default."""
    store_file = StoreFile(db)
    try:
        with store_file.snapshot() as con:
            return insights_core.to_json(compute(con, params)).encode()
    finally:
        store_file.close()


def assert_error(response: httpx.Response, status: int, code: str, field: str | None = None) -> dict:
    """docs/api.md#errors: ``{"error": {"code", "message", "field"}}`` and nothing else."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code
    assert body["error"]["field"] == field
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


# --- authentication -------------------------------------------------------


@pytest.mark.parametrize("header", ["Authentication", "Authorization"])
def test_stored_key_works_in_both_headers(server, header):
    """docs/api.md#authentication: `Authentication: <key>` (the public doc) and `Authorization: Bearer <key>`."""
    value = server.key if header == "Authentication" else f"Bearer {server.key}"
    response = httpx.post(server.base_url + ENDPOINT, json=TIME_FRAME_EXAMPLE, headers={header: value})
    assert response.status_code == 200, response.text
    assert "overall_metrics" in response.json()


@pytest.mark.parametrize("env_key", ENV_KEYS, ids=["first-key", "second-key"])  # ids: the keys are random
@pytest.mark.parametrize("header", ["Authentication", "Authorization"])
def test_environment_keys_work(server, env_key, header):
    """docs/api.md#authentication: INSIGHTS_API_KEYS is comma-separated; blanks around keys are ignored."""
    value = env_key if header == "Authentication" else f"bearer {env_key}"
    response = httpx.post(server.base_url + ENDPOINT, json=TIME_FRAME_EXAMPLE, headers={header: value})
    assert response.status_code == 200, response.text


def test_missing_key_is_401(server):
    response = httpx.post(server.base_url + ENDPOINT, json=TIME_FRAME_EXAMPLE)
    error = assert_error(response, 401, "unauthorized")
    assert "Authentication" in error["message"] and "Bearer" in error["message"]
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("headers", [
    {"Authentication": "wrong"},
    {"Authentication": ""},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer wrong"},
    {"Authorization": "Basic dGVzdHM6c2VjcmV0"},
    {"Authentication": "Bearer {key}"},
    {"Authentication": "{key}x"},
    {"Authentication": "{key_but_last}"},
    {"Authorization": "{key}"},
], ids=lambda headers: repr(headers))
def test_wrong_key_is_401(server, headers):
    """A key must match exactly, in a header form of docs/api.md#authentication."""
    headers = {name: value.format(key=server.key, key_but_last=server.key[:-1]) for name, value in headers.items()}
    response = httpx.post(server.base_url + ENDPOINT, json=TIME_FRAME_EXAMPLE, headers=headers)
    assert_error(response, 401, "unauthorized")


def test_auth_is_checked_before_the_body(server):
    """An unauthenticated client learns nothing about its body (not even that it is too large)."""
    response = httpx.post(server.base_url + ENDPOINT, content=b"x" * (MAX_BODY_BYTES + 1))
    assert_error(response, 401, "unauthorized")


def test_revoked_key_is_rejected_within_a_second(server, client):
    """docs/api.md#authentication: revoking a key (another process) takes effect without a restart."""
    key = create_key(server.db, "short-lived")
    url, headers = server.base_url + ENDPOINT, {"Authorization": f"Bearer {key}"}
    assert httpx.post(url, json=TIME_FRAME_EXAMPLE, headers=headers).status_code == 200
    result = run_insights("apikey", "revoke", "--db", str(server.db), "--name", "short-lived")
    assert result.returncode == 0, result.stderr
    revoked_at = time.monotonic()
    while (response := httpx.post(url, json=TIME_FRAME_EXAMPLE, headers=headers)).status_code == 200:
        assert time.monotonic() - revoked_at < 1.0, "revoked key still accepted after a second"
        time.sleep(0.02)
    assert_error(response, 401, "unauthorized")
    assert client.post(ENDPOINT, json=TIME_FRAME_EXAMPLE).status_code == 200  # other keys unaffected


def test_both_headers_must_hold_valid_keys(server):
    """Sending both headers is fine when both keys are valid; one wrong key is a 401."""
    url = server.base_url + ENDPOINT
    valid = {"Authentication": server.key, "Authorization": f"Bearer {ENV_KEYS[0]}"}
    assert httpx.post(url, json=TIME_FRAME_EXAMPLE, headers=valid).status_code == 200
    for wrong in ({**valid, "Authorization": "Bearer wrong"}, {**valid, "Authentication": "wrong"}):
        assert_error(httpx.post(url, json=TIME_FRAME_EXAMPLE, headers=wrong), 401, "unauthorized")


def test_new_key_works_without_restart(server):
    key = create_key(server.db, "added-later")
    response = httpx.post(server.base_url + ENDPOINT, json=TIME_FRAME_EXAMPLE, headers={"Authentication": key})
    assert response.status_code == 200


def test_last_use_is_listed(server):
    """`insights apikey list` shows when a key was last used (the server writes it into the settings file)."""
    key = create_key(server.db, "watched")
    before = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    assert httpx.post(server.base_url + ENDPOINT, json={}, headers={"Authentication": key}).status_code == 200
    settings = SettingsFile(server.db)
    deadline = time.monotonic() + 5
    while next(info for info in apikeys.list_keys(settings) if info.name == "watched").last_used_at is None:
        assert time.monotonic() < deadline, "first use not recorded within 5 s"
        time.sleep(0.05)
    listing = run_insights("apikey", "list", "--db", str(server.db))
    assert listing.returncode == 0, listing.stderr
    line = next(line for line in listing.stdout.splitlines() if line.startswith("watched "))
    last_used = datetime.fromisoformat(line.split()[2].rstrip("Z"))
    assert last_used >= before
    assert key not in listing.stdout and apikeys.hash_key(key) not in listing.stdout


def test_serve_refuses_to_start_without_keys(tmp_path):
    """docs/api.md#authentication: no stored key and no INSIGHTS_API_KEYS: no server, one line on stderr, exit 2."""
    db = make_demo_db(tmp_path / "keyless.duckdb", users=20, seed=1, end=DEMO_END)
    for env in (clean_env(), clean_env(INSIGHTS_API_KEYS=" , ")):
        result = run_insights("serve", "--db", str(db), "--port", "1", env=env)
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("insights: error: no API keys")
        assert "--insecure-no-auth" in result.stderr


def test_insecure_mode_warns_and_needs_no_key(insecure_server):
    assert "WARNING: --insecure-no-auth" in insecure_server.log()
    response = httpx.post(insecure_server.base_url + ENDPOINT, json=TIME_FRAME_EXAMPLE)
    assert response.status_code == 200
    assert response.content == expected_bytes(insecure_server.db, TIME_FRAME_EXAMPLE)


# --- answers ----------------------------------------------------------------


@pytest.mark.parametrize("params", TYPICAL, ids=lambda params: json.dumps(params))
def test_answer_is_the_core_document_byte_for_byte(server, client, params):
    """docs/api.md#http-api: the body is exactly ``to_json(compute_insights(con, params))``."""
    response = client.post(ENDPOINT, json=params)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == expected_bytes(server.db, params)


@pytest.mark.parametrize("params", [TIME_FRAME_EXAMPLE, TOUCH_SCOPE_EXAMPLE], ids=["time-frame", "touch-scope"])
def test_answer_equals_cli_query_output(server, client, params):
    """Programs get exactly what ``insights query`` prints."""
    result = run_insights("query", "--db", str(server.db), "--params", json.dumps(params))
    assert result.returncode == 0, result.stderr
    assert client.post(ENDPOINT, json=params).content == result.stdout.encode()


@pytest.mark.parametrize("params", [TIME_FRAME_EXAMPLE, TOUCH_SCOPE_EXAMPLE], ids=["time-frame", "touch-scope"])
def test_public_doc_examples(client, params):
    """The doc's two requests (the first without its trailing comma) find users in the demo's July."""
    response = client.post(ENDPOINT, json=params, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    document = InsightsResponse.model_validate_json(response.content)
    assert document.overall_metrics.user_summary.total_users > 0
    if params.get("touch_scope") == "converting":
        summary = document.overall_metrics.user_summary
        assert summary.total_converted_users == summary.total_users  # every cohort user converted


def test_no_data_is_200_with_the_spec_message(client):
    """docs/metrics.md#cohort: an empty cohort is not an error. (The demo data ends in 2025, the default window is now.)"""
    for body in (b"", b"{}", b"  \n", b'{"source": null, "medium": ""}'):
        response = client.post(ENDPOINT, content=body)
        assert response.status_code == 200
        assert response.content == b'{\n  "message": "No page data found for the given parameters."\n}\n'
        NoDataResponse.model_validate_json(response.content)


def test_concurrent_requests_are_all_answered_identically(server):
    """200 requests from 16 threads, one DuckDB connection with a cursor each."""
    params = TYPICAL[2]
    with httpx.Client(base_url=server.base_url, timeout=60, headers={"Authentication": server.key},
                      limits=httpx.Limits(max_connections=16)) as http:
        with ThreadPoolExecutor(max_workers=16) as pool:
            responses = list(pool.map(lambda _: http.post(ENDPOINT, json=params), range(200)))
    assert [response.status_code for response in responses] == [200] * 200
    assert {response.content for response in responses} == {expected_bytes(server.db, params)}


def test_load_while_serving_gives_the_old_or_the_new_answer(insecure_server, tmp_path):
    """docs/architecture.md#the-store-file: `insights load` into the served file; no failure, never half a load."""
    params = {"start_date": "2025-06-01", "end_date": "2025-08-10"}
    url = insecure_server.base_url + ENDPOINT
    before = httpx.post(url, json=params).content
    new_data = generate_demo(users=400, seed=9, end=DEMO_END)
    new_sessions, new_conversions = tmp_path / "sessions.parquet", tmp_path / "conversions.parquet"
    import pyarrow.parquet as pq

    pq.write_table(new_data.sessions, new_sessions)
    pq.write_table(new_data.conversions, new_conversions)

    answers: list[tuple[int, bytes]] = []
    loading = threading.Event()
    loading.set()

    def ask() -> None:
        with httpx.Client(timeout=60) as http:
            while loading.is_set():
                response = http.post(url, json=params)
                answers.append((response.status_code, response.content))

    askers = [threading.Thread(target=ask) for _ in range(3)]
    for asker in askers:
        asker.start()
    try:
        result = run_insights("load", "--db", str(insecure_server.db), "--sessions", str(new_sessions),
                              "--conversions", str(new_conversions), "--replace")
        time.sleep(0.2)
    finally:
        loading.clear()
        for asker in askers:
            asker.join(timeout=60)
    assert result.returncode == 0, result.stderr
    after = httpx.post(url, json=params).content
    assert after == expected_bytes(insecure_server.db, params) != before
    assert len(answers) > 10
    assert {status for status, _ in answers} == {200}
    assert {content for _, content in answers} == {before, after}  # both seen, nothing else
    assert answers[-1][1] == after


def test_internal_error_is_500_without_internals(insecure_server, tmp_path):
    """docs/api.md#errors: a server-side failure (here: the database replaced by a broken file) shows no internals."""
    db = insecure_server.db
    saved = tmp_path / "saved.duckdb"
    shutil.copyfile(db, saved)
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(b"this is not a database " * 100)
    os.replace(broken, db)  # how a writer publishes, so the server notices
    with httpx.Client(base_url=insecure_server.base_url) as http:
        try:
            response = http.post(ENDPOINT, json=TIME_FRAME_EXAMPLE)
            error = assert_error(response, 500, "internal_error")
            for internal in ("Traceback", "duckdb", "Error", str(db.parent), ".py"):
                assert internal not in response.text
            assert "the server log has the details" in error["message"]
            error_id = error["message"].split("(")[1].split(")")[0]
            assert http.get("/health").status_code == 503
        finally:
            os.replace(saved, db)
        # The same keep-alive connection goes on working once the file is sound again.
        assert http.post(ENDPOINT, json=TIME_FRAME_EXAMPLE).status_code == 200
    log = insecure_server.log()
    assert f"{error_id} while answering a request" in log and "Traceback" in log  # details in the log only


# --- validation and errors ----------------------------------------------------


@pytest.mark.parametrize(("body", "field"), [
    ({"start": "2025-07-01"}, "start"),
    ({"source": "google.com", "utm_source": "x", "a": 1}, "a"),
    ({"source": 42}, "source"),
    ({"touch_scope": True}, "touch_scope"),
    ({"end_date": ["2025-07-01"]}, "end_date"),
    ({"medium": {"is": "cpc"}}, "medium"),
    ({"start_date": "2025-02-30"}, "start_date"),
    ({"end_date": "2025-13-01"}, "end_date"),
    ({"start_date": "yesterday"}, "start_date"),
    ({"end_date": "2025-07-01T25:00:00Z"}, "end_date"),
    ({"touch_scope": "last"}, "touch_scope"),
    ({"touch_scope": "Converting"}, "touch_scope"),
    ({"start_date": "2025-07-31", "end_date": "2025-07-01"}, "start_date"),
    ({"end_date": "0001-01-01"}, "end_date"),  # the default window would start before year 1
    ({"start_date": "0001-01-01T00:00:00+01:00", "end_date": "2025-07-01"}, "start_date"),
    ({"start_date": "2025-07-01", "end_date": "9999-12-31T23:59:59-01:00"}, "end_date"),
], ids=lambda value: json.dumps(value) if isinstance(value, dict) else value)
def test_bad_parameter_is_400_naming_it(client, body, field):
    """docs/metrics.md#parameters: unknown keys, wrong types, impossible dates, bad touch_scope, start after end."""
    error = assert_error(client.post(ENDPOINT, json=body), 400, "invalid_parameter", field)
    assert field in error["message"]


def test_duplicate_parameter_is_400(client):
    response = client.post(ENDPOINT, content=b'{"source": "google.com", "source": "bing.com"}')
    assert_error(response, 400, "invalid_parameter", "source")


def test_public_doc_example_as_printed_points_at_its_trailing_comma(client):
    """The doc's first example, trailing comma included: 400 naming the line and column of that comma."""
    comma = DOC_EXAMPLE_AS_PRINTED.index('"2025-07-30",') + len('"2025-07-30"')
    line = DOC_EXAMPLE_AS_PRINTED.count("\n", 0, comma) + 1
    column = comma - DOC_EXAMPLE_AS_PRINTED.rfind("\n", 0, comma)
    response = client.post(ENDPOINT, content=DOC_EXAMPLE_AS_PRINTED, headers={"Content-Type": "application/json"})
    error = assert_error(response, 400, "malformed_json")
    assert (line, column) == (3, 27)
    assert f"line {line} column {column}" in error["message"]
    assert "trailing comma" in error["message"]


@pytest.mark.parametrize(("body", "where"), [
    (b'{"source": }', "line 1 column 12"),
    (b'{\n  "source": "google.com"\n  "medium": "cpc"\n}', "line 3 column 3"),
    (b"{'source': 'google.com'}", "line 1 column 2"),
    (b'{"source": "google.com"', "line 1 column 24"),
    (b'{"source": "google.com"} x', "line 1 column 26"),
    (b'[1, 2, ]', "line 1 column 6"),
    (b'{"source": "caf\xe9"}', "line 1 column 16"),
])
def test_malformed_json_is_400_saying_where(client, body, where):
    error = assert_error(client.post(ENDPOINT, content=body), 400, "malformed_json")
    assert where in error["message"]


@pytest.mark.parametrize(("body", "where"), [
    (b'{"source": "\\ud800"}', "line 1 column 13"),
    (b'{"start_date": "2025-07-01",\n "medium": "x\\udc00y"}', "line 2 column 14"),
    (b'{"\\udbff": "google.com"}', "line 1 column 3"),
])
def test_half_a_surrogate_pair_is_400(client, body, where):
    """JSON can escape half a UTF-16 pair, which is no character: malformed, not a crash."""
    error = assert_error(client.post(ENDPOINT, content=body), 400, "malformed_json")
    assert where in error["message"]
    assert client.post(ENDPOINT, content=b'{"source": "\\ud83d\\ude00"}').status_code == 200  # a whole pair is fine


def test_deeply_nested_json_is_400(client):
    response = client.post(ENDPOINT, content=b"[" * 60_000)
    assert_error(response, 400, "malformed_json")


@pytest.mark.parametrize("body", [b"[]", b'"source"', b"42", b"null", b"true", b'[{"source": "google.com"}]'])
def test_non_object_body_is_400(client, body):
    assert_error(client.post(ENDPOINT, content=body), 400, "invalid_body")


@pytest.mark.parametrize("path", ["/", "/api/v1/insight", "/api/v1/insights/extra", "/api/v2/insights", "/insights"])
def test_unknown_path_is_404(client, path):
    error = assert_error(client.post(path, json={}), 404, "not_found")
    assert ENDPOINT in error["message"]
    assert_error(client.get(path), 404, "not_found")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
def test_other_methods_on_the_endpoint_are_405(client, method):
    response = client.request(method, ENDPOINT)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


def test_body_over_64_kib_is_413_by_content_length(client):
    body = b'{"source": "' + b"x" * MAX_BODY_BYTES + b'"}'
    assert_error(client.post(ENDPOINT, content=body), 413, "payload_too_large")


def test_body_over_64_kib_is_413_when_streamed(client):
    """Without Content-Length (chunked), the size is counted while reading."""
    def chunks():
        yield b'{"source": "'
        for _ in range(20):
            yield b"x" * 4096
        yield b'"}'

    response = client.post(ENDPOINT, content=chunks())
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "payload_too_large")


def test_body_of_exactly_64_kib_is_read(client):
    body = b"{}".ljust(MAX_BODY_BYTES, b" ")
    assert client.post(ENDPOINT, content=body).status_code == 200
    assert client.post(ENDPOINT, content=body + b" ").status_code == 413


# --- OpenAPI ------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi(server) -> dict:
    response = httpx.get(server.base_url + "/openapi.json")
    assert response.status_code == 200
    return response.json()


def resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def schema_keys(document: dict, schema: dict, prefix: str = "") -> set[str]:
    """Every property path of an object schema (through refs, arrays and optional values)."""
    schema = resolve(document, schema)
    if schema.get("type") == "array":
        return schema_keys(document, schema["items"], prefix + "[]")
    keys = set()
    for name, sub in schema.get("properties", {}).items():
        keys.add(prefix + name)
        keys |= schema_keys(document, sub, f"{prefix}{name}.")
    return keys


def document_keys(value, prefix: str = "") -> set[str]:
    if isinstance(value, list):
        return set().union(*(document_keys(item, prefix + "[]") for item in value))
    if not isinstance(value, dict):
        return set()
    return set().union(*({prefix + name} | document_keys(sub, f"{prefix}{name}.") for name, sub in value.items()))


def test_openapi_request_model_has_every_parameter(openapi):
    operation = openapi["paths"][ENDPOINT]["post"]
    content = operation["requestBody"]["content"]["application/json"]
    request = resolve(openapi, content["schema"])
    assert list(request["properties"]) == list(PARAMETER_NAMES)
    assert request["additionalProperties"] is False
    options = request["properties"]["touch_scope"]["anyOf"]
    assert set(next(option["enum"] for option in options if "enum" in option)) == {*TOUCH_SCOPES, ""}
    assert [example["value"] for example in content["examples"].values()] == [TIME_FRAME_EXAMPLE, TOUCH_SCOPE_EXAMPLE]
    assert request["examples"] == [TIME_FRAME_EXAMPLE, TOUCH_SCOPE_EXAMPLE]


def test_openapi_response_model_has_every_spec4_field(openapi, client):
    """Every key of a real answer (docs/metrics.md#response), and nothing more, is in the documented 200 schema."""
    operation = openapi["paths"][ENDPOINT]["post"]
    ok = operation["responses"]["200"]["content"]["application/json"]
    variants = [resolve(openapi, option) for option in ok["schema"]["anyOf"]]
    insights_schema = next(variant for variant in variants if "overall_metrics" in variant["properties"])
    real = client.post(ENDPOINT, json=TYPICAL[2]).json()
    assert schema_keys(openapi, insights_schema) == document_keys(real) == document_keys(RESPONSE_EXAMPLE)
    assert ok["examples"]["insights"]["value"] == RESPONSE_EXAMPLE
    InsightsResponse.model_validate(RESPONSE_EXAMPLE)
    assert set(operation["responses"]) >= {"200", "400", "401", "413", "500"}


def test_openapi_documents_both_auth_headers(openapi):
    schemes = openapi["components"]["securitySchemes"]
    assert {"type": "apiKey", "in": "header", "name": "Authentication"}.items() <= schemes["Authentication"].items()
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["Bearer"].items()
    assert openapi["paths"][ENDPOINT]["post"]["security"] == [{"Authentication": []}, {"Bearer": []}]


def test_docs_page_is_served(server):
    response = httpx.get(server.base_url + "/docs")
    assert response.status_code == 200
    assert "swagger" in response.text.lower() and "/openapi.json" in response.text


# --- generated requests: never a 500 ------------------------------------------


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_openapi_generated_requests_never_fail(server, mode):
    """Schemathesis, from /openapi.json: bodies that fit the schema and bodies that do not; never a 500.

    (Driven through ``as_strategy`` rather than ``schemathesis.pytest.from_fixture``,
    whose lazy loader does not support pytest 9.)
    """
    operation = schemathesis.openapi.from_url(server.base_url + "/openapi.json")[ENDPOINT]["POST"]
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    if mode is GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        # The generated credentials are noise (401 is tested above): send the real key alone.
        case.headers = {name: value for name, value in (case.headers or {}).items()
                        if name.lower() not in ("authentication", "authorization")}
        case.call_and_validate(headers={"Authentication": server.key}, checks=checks, timeout=30)

    check()


any_text = st.text(st.characters(exclude_categories=()), max_size=30)  # lone surrogates included
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=12,
)
parameter_values = st.one_of(
    st.none(), any_text, st.dates().map(str), st.datetimes().map(lambda moment: moment.isoformat()),
    st.sampled_from(TOUCH_SCOPES), json_values,
)
bodies = st.one_of(
    st.dictionaries(st.sampled_from(PARAMETER_NAMES), parameter_values, max_size=5).map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=60),
).map(str.encode) | st.binary(max_size=60)


@given(body=bodies)
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_arbitrary_bodies_are_200_or_400(client, body):
    """Whatever the body, the answer is a document or an error (docs/api.md#errors): never a 500."""
    response = client.post(ENDPOINT, content=body)
    assert response.status_code in (200, 400), response.text
    assert response.headers["content-type"] == "application/json"
    if response.status_code == 400:
        assert_error(response, 400, response.json()["error"]["code"], response.json()["error"]["field"])
    else:
        payload = response.json()
        (InsightsResponse if "overall_metrics" in payload else NoDataResponse).model_validate(payload)


def test_benchmark_runs(server):
    """`python -m benchmarks.bench_api` (for `make bench`) works: a very short run on the test database."""
    repo = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_api", "--db", str(server.db), "--seconds", "0.3",
         "--clients", "1,4"],
        capture_output=True, text=True, timeout=120, cwd=repo, env=clean_env(),
    )
    assert result.returncode == 0, result.stderr
    table = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| concurrent clients | requests | requests/s | p50")
    assert [row.split("|")[1].strip() for row in table[1:]] == ["1", "4"]
    assert all(row.split("|")[6].strip() == "0" for row in table[1:])  # no errors


def test_crowd_benchmark_runs(server):
    """`python -m benchmarks.bench_api --crowd N`: heavy queries at once, /health latency and the 503 rate."""
    repo = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_api", "--db", str(server.db), "--seconds", "0.5", "--crowd", "3"],
        capture_output=True, text=True, timeout=120, cwd=repo, env=clean_env(),
    )
    assert result.returncode == 0, result.stderr
    [row] = [line for line in result.stdout.splitlines() if line.startswith("| ") and line[2].isdigit()]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    answers, ok, refused = (int(cell.replace(",", "")) for cell in cells[:3])
    assert answers >= 3 and ok + refused <= answers
    assert float(cells[7]) < 1000  # /health max, ms


# --- /api/v1/timeseries and /api/v1/breakdown (docs/metrics.md#trend, docs/metrics.md#breakdown) ----------

TIMESERIES = "/api/v1/timeseries"
BREAKDOWN = "/api/v1/breakdown"
SEGMENT_ANSWERS = [
    (TIMESERIES, {"start_date": "2025-07-01", "end_date": "2025-07-31", "interval": "week"}),
    (TIMESERIES, {"start_date": "2025-05-01", "end_date": "2025-08-10", "interval": "month", "medium": "organic"}),
    (TIMESERIES, {"start_date": "2025-07-01T00:00:00+02:00", "end_date": "2025-07-20T12:00:00Z",
                  "touch_scope": "assist"}),
    (TIMESERIES, {"start_date": "2025-07-01", "end_date": "2025-07-31", "source": "no-such-source.example"}),
    (BREAKDOWN, {"start_date": "2025-07-01", "end_date": "2025-07-31", "dimension": "campaign", "limit": 20}),
    (BREAKDOWN, {"start_date": "2025-05-01", "end_date": "2025-08-10", "dimension": "channel"}),
    (BREAKDOWN, {"start_date": "2025-07-01", "end_date": "2025-07-31", "dimension": "landing_page", "limit": 3,
                 "touch_scope": "converting"}),
    (BREAKDOWN, {"start_date": "2025-07-01", "end_date": "2025-07-31", "dimension": "term", "source": "nope.example"}),
    (BREAKDOWN, {"start_date": "2025-07-01", "end_date": "2025-07-31", "dimension": "channel_group"}),
    (TIMESERIES, {"start_date": "2025-07-01", "end_date": "2025-07-31", "channel_group": "Organic Search"}),
]


def segment_bytes(db: Path, path: str, params: dict) -> bytes:
    """What the core answers on the same file: ``to_json(compute_timeseries | compute_breakdown(con, params))``."""
    return expected_bytes(db, params, insights_core.compute_timeseries if path == TIMESERIES
                          else insights_core.compute_breakdown)


@pytest.mark.parametrize(("path", "params"), SEGMENT_ANSWERS, ids=lambda value: json.dumps(value))
def test_trend_and_breakdown_answers_are_the_core_documents_byte_for_byte(server, client, path, params):
    """docs/api.md#http-api: each body is exactly the core's answer through ``to_json``, and fits its model."""
    response = client.post(path, json=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.content == segment_bytes(server.db, path, params)
    model = TimeseriesResponse if path == TIMESERIES else BreakdownResponse
    model.model_validate_json(response.content)


def test_trend_and_breakdown_answers_equal_the_cli_output(server, client):
    """Programs get exactly what ``insights timeseries`` and ``insights breakdown`` print."""
    for path, params in (SEGMENT_ANSWERS[0], SEGMENT_ANSWERS[4]):
        result = run_insights(path.rsplit("/", 1)[1], "--db", str(server.db), "--params", json.dumps(params))
        assert result.returncode == 0, result.stderr
        assert client.post(path, json=params).content == result.stdout.encode()


def test_the_july_demo_has_a_trend_and_a_breakdown(client):
    """The demo's July: weekly buckets from Monday 2025-06-30, with sessions; campaigns by sessions."""
    trend = client.post(TIMESERIES, json=SEGMENT_ANSWERS[0][1]).json()["timeseries"]
    assert [bucket["start"] for bucket in trend["buckets"]] == [
        "2025-06-30", "2025-07-07", "2025-07-14", "2025-07-21", "2025-07-28"]
    assert all(bucket["sessions"] > 0 for bucket in trend["buckets"])
    rows = client.post(BREAKDOWN, json=SEGMENT_ANSWERS[4][1]).json()["breakdown"]["rows"]
    assert 0 < len(rows) <= 20
    assert [row["sessions"] for row in rows] == sorted((row["sessions"] for row in rows), reverse=True)
    groups = client.post(BREAKDOWN, json=SEGMENT_ANSWERS[8][1]).json()["breakdown"]["rows"]
    assert len(groups) > 3 and {row["value"] for row in groups} <= set(CHANNEL_GROUPS)
    organic = client.post(TIMESERIES, json=SEGMENT_ANSWERS[9][1]).json()["timeseries"]["buckets"]
    [organic_row] = [row for row in groups if row["value"] == "Organic Search"]
    assert sum(bucket["sessions"] for bucket in organic) == organic_row["sessions"] > 0


@pytest.mark.parametrize(("path", "body", "field"), [
    (TIMESERIES, {"interval": "hour"}, "interval"),
    (TIMESERIES, {"interval": 7}, "interval"),
    (TIMESERIES, {"start_date": "2000-01-01", "end_date": "2020-01-01"}, "interval"),  # 7,306 daily buckets
    (TIMESERIES, {"limit": 5}, "limit"),
    (TIMESERIES, {"touch_scope": "last", "interval": "week"}, "touch_scope"),
    (BREAKDOWN, {}, "dimension"),
    (BREAKDOWN, {"dimension": "country"}, "dimension"),
    (BREAKDOWN, {"dimension": "campaign", "limit": 0}, "limit"),
    (BREAKDOWN, {"dimension": "campaign", "limit": 1001}, "limit"),
    (BREAKDOWN, {"dimension": "campaign", "limit": "5"}, "limit"),
    (BREAKDOWN, {"dimension": "campaign", "limit": 2.5}, "limit"),
    (BREAKDOWN, {"dimension": "campaign", "interval": "day"}, "interval"),
    (BREAKDOWN, {"dimension": "campaign", "start_date": "2025-07-31", "end_date": "2025-07-01"}, "start_date"),
], ids=lambda value: json.dumps(value) if isinstance(value, dict) else str(value))
def test_bad_trend_or_breakdown_parameter_is_400_naming_it(client, path, body, field):
    """docs/api.md#errors: the endpoints' own parameters and the shared ones, refused naming the parameter."""
    error = assert_error(client.post(path, json=body), 400, "invalid_parameter", field)
    assert field in error["message"]


def test_empty_breakdown_body_says_dimension_is_required(client):
    for body in (b"", b"{}"):
        error = assert_error(client.post(BREAKDOWN, content=body), 400, "invalid_parameter", "dimension")
        assert "dimension is required" in error["message"]


@pytest.mark.parametrize("path", [TIMESERIES, BREAKDOWN])
def test_trend_and_breakdown_share_authentication_and_errors(server, path):
    """Same key rules, methods and body limits as /insights (docs/api.md#authentication, #errors, #limits)."""
    body = {"dimension": "campaign"} if path == BREAKDOWN else {}
    assert_error(httpx.post(server.base_url + path, json=body), 401, "unauthorized")
    assert_error(httpx.post(server.base_url + path, json=body, headers={"Authentication": "wrong"}), 401,
                 "unauthorized")
    both = {"Authentication": server.key, "Authorization": "Bearer wrong"}
    assert_error(httpx.post(server.base_url + path, json=body, headers=both), 401, "unauthorized")
    ok = httpx.post(server.base_url + path, json=body, headers={"Authorization": f"Bearer {ENV_KEYS[1]}"})
    assert ok.status_code == 200, ok.text
    headers = {"Authentication": server.key}
    response = httpx.get(server.base_url + path, headers=headers)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    assert_error(httpx.post(server.base_url + path + "/", json=body, headers=headers), 404, "not_found")
    assert_error(httpx.post(server.base_url + path, content=b'{"x": 1,}', headers=headers), 400, "malformed_json")
    too_big = b'{"source": "' + b"x" * MAX_BODY_BYTES + b'"}'
    assert_error(httpx.post(server.base_url + path, content=too_big, headers=headers), 413, "payload_too_large")


@pytest.mark.parametrize(("path", "request_name", "own"), [
    (TIMESERIES, "TimeseriesRequest", ["interval"]),
    (BREAKDOWN, "BreakdownRequest", ["dimension", "limit"]),
])
def test_openapi_documents_the_trend_and_breakdown_requests(openapi, path, request_name, own):
    """The request model: every shared parameter then the endpoint's own, nothing else; examples shown."""
    operation = openapi["paths"][path]["post"]
    content = operation["requestBody"]["content"]["application/json"]
    assert content["schema"] == {"$ref": f"#/components/schemas/{request_name}"}
    request = resolve(openapi, content["schema"])
    assert list(request["properties"]) == [*PARAMETER_NAMES, *own]
    assert request["additionalProperties"] is False
    assert request["examples"] == [example["value"] for example in content["examples"].values()]
    assert operation["security"] == [{"Authentication": []}, {"Bearer": []}]
    assert set(operation["responses"]) >= {"200", "400", "401", "405", "413", "500", "503"}
    if path == BREAKDOWN:
        assert request["required"] == ["dimension"]
        assert set(request["properties"]["dimension"]["enum"]) == set(BREAKDOWN_DIMENSIONS)
    else:
        options = request["properties"]["interval"]["anyOf"]
        assert {value for option in options for value in option.get("enum", [])} == {*TREND_INTERVALS, ""}


@pytest.mark.parametrize(("path", "params"), [SEGMENT_ANSWERS[1], SEGMENT_ANSWERS[4]], ids=["trend", "breakdown"])
def test_openapi_response_models_have_every_answer_key(openapi, client, path, params):
    """Every key of a real answer (docs/metrics.md#trend, #breakdown), and nothing more, is in the 200 schema,
    and the documented example fits the model."""
    ok = openapi["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]
    real = client.post(path, json=params).json()
    [example] = [item["value"] for item in ok["examples"].values()]
    assert schema_keys(openapi, ok["schema"]) == document_keys(real) == document_keys(example)
    (TimeseriesResponse if path == TIMESERIES else BreakdownResponse).model_validate(example)


@pytest.mark.parametrize("path", [TIMESERIES, BREAKDOWN])
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_openapi_generated_trend_and_breakdown_requests_never_fail(server, path, mode):
    """Schemathesis from /openapi.json, as for /insights: bodies that fit the schema and bodies that do not."""
    operation = schemathesis.openapi.from_url(server.base_url + "/openapi.json")[path]["POST"]
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    if mode is GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        case.headers = {name: value for name, value in (case.headers or {}).items()
                        if name.lower() not in ("authentication", "authorization")}
        case.call_and_validate(headers={"Authentication": server.key}, checks=checks, timeout=30)

    check()


# --- /api/v1/attribution (docs/metrics.md#attribution) ---------------------------------------

ATTRIBUTION = "/api/v1/attribution"
ATTRIBUTION_BODIES = [
    {"start_date": "2025-06-01", "end_date": "2025-08-10"},
    {"start_date": "2025-07-01", "end_date": "2025-07-31", "conversions": "all", "lookback_days": 7,
     "half_life_days": 0.5, "top_paths": 3},
    {"start_date": "2025-07-01", "end_date": "2025-07-31", "medium": "organic", "touch_scope": "first"},
    {"start_date": "2025-07-01", "end_date": "2025-07-31", "source": "no-such-source.example"},
]


@pytest.mark.parametrize("params", ATTRIBUTION_BODIES, ids=lambda params: json.dumps(params))
def test_attribution_is_the_core_document_byte_for_byte(server, client, params):
    response = client.post(ATTRIBUTION, json=params)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.content == expected_bytes(server.db, params, insights_core.compute_attribution)
    payload = response.json()
    (AttributionResponse if "attribution" in payload else NoDataResponse).model_validate(payload)


def test_attribution_equals_cli_output_and_needs_a_key(server, client):
    params = ATTRIBUTION_BODIES[1]
    result = run_insights("attribution", "--db", str(server.db), "--params", json.dumps(params))
    assert result.returncode == 0, result.stderr
    assert client.post(ATTRIBUTION, json=params).content == result.stdout.encode()
    assert_error(httpx.post(server.base_url + ATTRIBUTION, json=params), 401, "unauthorized")


@pytest.mark.parametrize("body, field", [
    ({"lookback_days": 0}, "lookback_days"),
    ({"lookback_days": "90"}, "lookback_days"),
    ({"lookback_days": 7.5}, "lookback_days"),
    ({"half_life_days": 0}, "half_life_days"),
    ({"half_life_days": 366}, "half_life_days"),
    ({"conversions": "last"}, "conversions"),
    ({"top_paths": 1001}, "top_paths"),
    ({"top_paths": True}, "top_paths"),
    ({"interval": "day"}, "interval"),
    ({"touch_scope": "last"}, "touch_scope"),
], ids=lambda value: json.dumps(value) if isinstance(value, dict) else value)
def test_attribution_bad_parameter_is_400_naming_it(client, body, field):
    error = assert_error(client.post(ATTRIBUTION, json=body), 400, "invalid_parameter", field)
    assert field in error["message"]


def test_attribution_keys_are_errors_on_insights(client):
    error = assert_error(client.post(ENDPOINT, json={"lookback_days": 30}), 400, "invalid_parameter", "lookback_days")
    assert "lookback_days is a parameter of /attribution" in error["message"]


def test_openapi_documents_attribution(openapi, client):
    """The request model has every parameter of /attribution; the 200 schema has every key of a real answer."""
    from insights_core.vocabulary import ENDPOINT_PARAMETERS

    operation = openapi["paths"][ATTRIBUTION]["post"]
    content = operation["requestBody"]["content"]["application/json"]
    request = resolve(openapi, content["schema"])
    assert set(request["properties"]) == set(ENDPOINT_PARAMETERS["attribution"])
    assert request["additionalProperties"] is False
    assert [example["value"] for example in content["examples"].values()] == [
        ATTRIBUTION_REQUEST_EXAMPLE, ATTRIBUTION_OPTIONS_EXAMPLE]
    ok = operation["responses"]["200"]["content"]["application/json"]
    variants = [resolve(openapi, option) for option in ok["schema"]["anyOf"]]
    answer_schema = next(variant for variant in variants if "attribution" in variant["properties"])
    real = client.post(ATTRIBUTION, json=ATTRIBUTION_BODIES[0]).json()
    assert real["attribution"]["channels"] and real["attribution"]["paths"]
    assert schema_keys(openapi, answer_schema) == document_keys(real) == document_keys(ATTRIBUTION_RESPONSE_EXAMPLE)
    assert ok["examples"]["attribution"]["value"] == ATTRIBUTION_RESPONSE_EXAMPLE
    assert operation["security"] == [{"Authentication": []}, {"Bearer": []}]


def test_openapi_generated_attribution_requests_never_fail(server):
    """Schemathesis bodies that fit the attribution request schema: always a conforming 200 (or a 400)."""
    operation = schemathesis.openapi.from_url(server.base_url + "/openapi.json")[ATTRIBUTION]["POST"]
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

    @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case):
        case.headers = {name: value for name, value in (case.headers or {}).items()
                        if name.lower() not in ("authentication", "authorization")}
        case.call_and_validate(headers={"Authentication": server.key}, checks=checks, timeout=30)

    check()
