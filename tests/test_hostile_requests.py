"""Hostile requests against a real ``insights serve`` and a real uvicorn on loopback (docs/api.md#errors, #limits).

A corpus of bad requests (huge numbers, huge values, doubled auth headers,
wrong methods and paths, broken HTTP, slow and oversized bodies), each
answered with the right status and a JSON error of the right code, with no
traceback in the server log and the store byte for byte as it was. Then the
limits, each with small values so the tests stay quick: a slow-loris crowd
is disconnected, a computation past its time limit is interrupted and
answered 503 ``query_timeout``, a crowd past the queue gets 503 ``busy`` with
``Retry-After``, ``/health`` answers within a second while computations
fill every slot, and a client that leaves is one info line in the log.
Those run uvicorn in a process of its own, configured exactly as ``insights
serve`` configures it, with an extra endpoint whose computation runs until
it is interrupted.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from api_server import ApiServer, ChildServer, clean_env, insights_command
from support import make_demo_db
from insights_core.api.limits import MAX_BODY_BYTES
from insights_core.api.schema import NoDataResponse

ENDPOINT = "/api/v1/insights"
DEMO_END = datetime(2025, 8, 10, tzinfo=timezone.utc)
ENV_KEY = "hostile-tests-env-key-0123456789"
SERVER_OPTIONS = ["--header-timeout", "0.5", "--body-timeout", "0.5", "--keep-alive-timeout", "1"]
MAX_MESSAGE = 500
DIGITS = "7" * 5_000


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One server for the corpus: demo data, one stored key (``insights apikey create``), one environment key."""
    import subprocess

    workdir = tmp_path_factory.mktemp("hostile")
    db = make_demo_db(workdir / "demo.duckdb", users=300, seed=3, end=DEMO_END)
    created = subprocess.run(insights_command("apikey", "create", "--db", str(db), "--name", "hostile"),
                             capture_output=True, text=True, timeout=120, env=clean_env())
    assert created.returncode == 0, created.stderr
    server = ApiServer(db, workdir / "server.log", options=SERVER_OPTIONS,
                       env=clean_env(INSIGHTS_API_KEYS=ENV_KEY)).start()
    server.key = created.stdout.splitlines()[-1]
    server.digest = digest(db)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def untouched(request):
    """After each corpus test: no traceback or error in the server log, and the store byte-identical."""
    if "served" not in request.fixturenames:
        yield
        return
    server = request.getfixturevalue("served")
    logged_before = len(server.log())
    yield
    time.sleep(0.05)  # let the server flush its log line for the last request
    new_log = server.log()[logged_before:]
    assert "Traceback" not in new_log and "ERROR" not in new_log, new_log
    assert digest(server.db) == server.digest


def assert_error(response: httpx.Response, status: int, code: str, field: Any = ...) -> dict:
    """The error shape of docs/api.md#errors, a bounded message, nothing else."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"] and set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["code"] == code, body
    if field is not ...:
        assert body["error"]["field"] == field
    message = body["error"]["message"]
    assert isinstance(message, str) and 0 < len(message) <= MAX_MESSAGE + 40, len(message)
    for internal in ("Traceback", "duckdb", ".py", "Exception"):
        assert internal not in message
    return body["error"]


# --- the corpus ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    """One bad request and what it must get."""

    name: str
    status: int
    code: str
    method: str = "POST"
    path: str = ENDPOINT
    body: bytes | None = b"{}"
    headers: tuple[tuple[str, str], ...] | None = None  # None: the stored key in Authentication
    field: Any = ...
    says: str = ""


def big_number_bodies() -> list[Hostile]:
    """A 5,000-digit integer anywhere (Python refuses to convert it): 400 malformed_json, never a 500."""
    bodies = {
        "top level": DIGITS,
        "negative top level": "-" + DIGITS,
        "in an array": f"[1, {DIGITS}]",
        "under a parameter": f'{{"source": {DIGITS}}}',
        "under an unknown key": f'{{"nope": {DIGITS}}}',
        "deep inside": f'{{"source": "x", "a": {{"b": [[{{"c": {DIGITS}}}]]}}}}',
        "after valid parameters": f'{{"start_date": "2025-07-01",\n "end_date": -{DIGITS}}}',
    }
    return [Hostile(f"5000-digit integer {where}", 400, "malformed_json", body=text.encode(), field=None,
                    says="more than 4,300 digits") for where, text in bodies.items()]


def long_value_bodies() -> list[Hostile]:
    """A value of tens of kilobytes is quoted at most ~200 characters in the message."""
    long = "x" * 60_000
    return [
        Hostile("60 KB start_date", 400, "invalid_parameter", body=json.dumps({"start_date": long}).encode(),
                field="start_date"),
        Hostile("60 KB touch_scope", 400, "invalid_parameter", body=json.dumps({"touch_scope": long}).encode(),
                field="touch_scope"),
        Hostile("60 KB unknown parameter name", 400, "invalid_parameter", body=json.dumps({long: 1}).encode()),
        Hostile("60 KB parameter given twice", 400, "invalid_parameter",
                body=('{"%s": 1, "%s": 2}' % ("y" * 30_000, "y" * 30_000)).encode(), says="more than once"),
        Hostile("60 KB end_date of digits", 400, "invalid_parameter",
                body=json.dumps({"end_date": "9" * 60_000}).encode(), field="end_date"),
    ]


def auth_headers(key: str) -> list[Hostile]:
    """Every occurrence of an auth header must hold a valid key."""
    valid = ("Authentication", key)
    return [
        Hostile("second Authentication header wrong", 401, "unauthorized",
                headers=(valid, ("Authentication", "wrong"))),
        Hostile("first Authentication header wrong", 401, "unauthorized",
                headers=(("Authentication", "wrong"), valid)),
        Hostile("Authorization bearer wrong beside a valid Authentication", 401, "unauthorized",
                headers=(valid, ("Authorization", "Bearer wrong"))),
        Hostile("second Authorization header wrong", 401, "unauthorized",
                headers=(("Authorization", f"Bearer {key}"), ("Authorization", f"Bearer {key}x"))),
        Hostile("Authorization Basic beside a valid key", 401, "unauthorized",
                headers=(valid, ("Authorization", "Basic aG9zdGlsZTprZXk="))),
        Hostile("empty Authentication beside a valid one", 401, "unauthorized",
                headers=(valid, ("Authentication", ""))),
        Hostile("bearer without a token beside a valid key", 401, "unauthorized",
                headers=(valid, ("Authorization", "Bearer"))),
        Hostile("the key's hash instead of the key", 401, "unauthorized",
                headers=(("Authentication", "{key_hash}"),)),
        Hostile("two keys in one header", 401, "unauthorized",
                headers=(("Authentication", f"{key}, {key}"),)),
        Hostile("no key, a 100 KB body", 401, "unauthorized", headers=(), body=b"x" * 100_000),
    ]


def paths_and_methods() -> list[Hostile]:
    return [
        Hostile("trailing slash", 404, "not_found", path=ENDPOINT + "/", says="without the trailing slash"),
        Hostile("trailing slash, GET", 404, "not_found", method="GET", path=ENDPOINT + "/", body=None),
        Hostile("two trailing slashes", 404, "not_found", path=ENDPOINT + "//"),
        Hostile("double slash in front", 404, "not_found", path="/" + ENDPOINT),
        Hostile("10 KB path", 404, "not_found", path="/" + "p" * 10_000),
        Hostile("encoded newline in the path", 404, "not_found", path="/api%0Av1/insights"),
        Hostile("GET on the endpoint", 405, "method_not_allowed", method="GET", body=None, says="use POST"),
        Hostile("PUT on the endpoint", 405, "method_not_allowed", method="PUT", says="use POST"),
        Hostile("DELETE on the endpoint", 405, "method_not_allowed", method="DELETE", body=None),
        Hostile("HEAD on the endpoint", 405, "method_not_allowed", method="HEAD", body=None),
        Hostile("OPTIONS on the endpoint", 405, "method_not_allowed", method="OPTIONS", body=None),
        Hostile("POST on /health", 405, "method_not_allowed", path="/health", says="use GET"),
        Hostile("DELETE on /health", 405, "method_not_allowed", method="DELETE", path="/health", body=None,
                says="use GET"),
        Hostile("POST on /openapi.json", 405, "method_not_allowed", path="/openapi.json", says="use GET"),
    ]


def bodies() -> list[Hostile]:
    return [
        Hostile("latin-1 body", 400, "malformed_json", body='{"source": "café"}'.encode("latin-1")),
        Hostile("half a surrogate pair", 400, "malformed_json", body=b'{"source": "\\udc00"}'),
        Hostile("60,000 open brackets", 400, "malformed_json", body=b"[" * 60_000),
        Hostile("NaN as a parameter", 400, "invalid_parameter", body=b'{"source": NaN}', field="source"),
        Hostile("an overflowing float", 400, "invalid_parameter", body=b'{"medium": 1e999999}', field="medium"),
        Hostile("null body", 400, "invalid_body", body=b"null"),
        Hostile("array of objects", 400, "invalid_body", body=b'[{"source": "google.com"}]'),
        Hostile("NUL in a date", 400, "invalid_parameter", body=b'{"start_date": "2025-07-01\\u0000"}',
                field="start_date"),
        Hostile("body over 64 KiB", 413, "payload_too_large", body=b" " * (MAX_BODY_BYTES + 1)),
    ]


def corpus() -> list[Hostile]:
    return [*big_number_bodies(), *long_value_bodies(), *auth_headers("{key}"), *paths_and_methods(), *bodies()]


def send(server: ApiServer, case: Hostile) -> httpx.Response:
    key_hash = hashlib.sha256(server.key.encode()).hexdigest()
    headers = [("Authentication", server.key)] if case.headers is None else [
        (name, value.replace("{key}", server.key).replace("{key_hash}", key_hash)) for name, value in case.headers]
    request = httpx.Request(case.method, server.base_url + case.path, content=case.body, headers=headers)
    with httpx.Client(timeout=30) as http:
        return http.send(request)


def test_the_corpus_is_large_enough():
    assert len(corpus()) + len(RAW) >= 40


@pytest.mark.parametrize("case", corpus(), ids=lambda case: case.name)
def test_hostile_request(served, case):
    response = send(served, case)
    if case.method == "HEAD":
        assert response.status_code == case.status and response.content == b""
        return
    error = assert_error(response, case.status, case.code, case.field)
    assert case.says in error["message"]
    assert len(response.content) < 1_000  # a 60 KB value never comes back
    if case.status == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    if case.status == 405:
        expected = {ENDPOINT: "POST", "/health": "GET", "/openapi.json": "GET, HEAD"}[case.path]
        assert response.headers["allow"] == expected  # always in this order


def test_two_valid_keys_in_two_headers_are_fine(served):
    """The positive control for the doubled headers: every occurrence valid is a 200."""
    headers = [("Authentication", served.key), ("Authorization", f"Bearer {ENV_KEY}"),
               ("Authentication", ENV_KEY)]
    response = httpx.post(served.base_url + ENDPOINT, content=b"{}", headers=headers)
    assert response.status_code == 200
    NoDataResponse.model_validate_json(response.content)


# --- broken HTTP, over a raw socket -------------------------------------------------------------------


def raw_exchange(server: ApiServer, data: bytes, wait: float = 5.0) -> bytes:
    """Send ``data`` as is and read until the server closes the connection (or ``wait`` passes)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as connection:
        connection.sendall(data)
        received = b""
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                chunk = connection.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            received += chunk
        return received


def parse_raw(response: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = response.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip()
               for name, _, value in (line.partition(":") for line in header_lines)}
    return int(status_line.split()[1]), headers, body


RAW = {
    "garbage request line": b"HELLO\r\n\r\n",
    "header without a colon": b"POST /api/v1/insights HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
    "NUL in a header value": b"POST /api/v1/insights HTTP/1.1\r\nHost: x\r\nAuthentication: a\x00b\r\n\r\n",
    "two Content-Lengths that disagree": (b"POST /api/v1/insights HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                                          b"Content-Length: 3\r\n\r\n{}"),
    "a negative Content-Length": b"POST /api/v1/insights HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
    "a 20 KB header line sent in pieces": None,  # built in the test: h11 refuses more than 16 KiB pending
}


@pytest.mark.parametrize("name", list(RAW), ids=list(RAW))
def test_broken_http_gets_a_json_400(served, name):
    if RAW[name] is None:
        with socket.create_connection(("127.0.0.1", served.port), timeout=5) as connection:
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ")
            for _ in range(16):  # the last piece takes the pending head past 16 KiB
                connection.sendall(b"a" * 1024)
                time.sleep(0.005)
            connection.settimeout(5)
            response = b""
            while chunk := connection.recv(65536):
                response += chunk
    else:
        response = raw_exchange(served, RAW[name])
    status, headers, body = parse_raw(response)
    assert status == 400 and headers["content-type"] == "application/json"
    assert json.loads(body)["error"]["code"] == "bad_request"


def test_a_declared_length_over_64_kib_is_413_at_once(served):
    """Content-Length of a terabyte: refused before reading anything, and the connection is closed."""
    response = raw_exchange(served, (f"POST {ENDPOINT} HTTP/1.1\r\nHost: x\r\nAuthentication: {served.key}\r\n"
                                     f"Content-Length: {10 ** 12}\r\n\r\n{{}}").encode())
    status, headers, body = parse_raw(response)
    assert status == 413 and json.loads(body)["error"]["code"] == "payload_too_large"
    assert headers["connection"] == "close"


def test_a_body_that_stops_coming_gets_408(served):
    """Declared 100 bytes, sent 10: the body time limit (0.5 s here) answers 408 and closes."""
    began = time.monotonic()
    response = raw_exchange(served, (f"POST {ENDPOINT} HTTP/1.1\r\nHost: x\r\nAuthentication: {served.key}\r\n"
                                     "Content-Length: 100\r\n\r\n{\"source\":").encode())
    status, headers, body = parse_raw(response)
    assert status == 408 and json.loads(body)["error"]["code"] == "request_timeout"
    assert headers["connection"] == "close"
    assert time.monotonic() - began < 4


def test_a_body_that_trickles_gets_408(served):
    """One byte every 0.1 s never completes within the limit, however long it keeps going."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as connection:
        connection.sendall((f"POST {ENDPOINT} HTTP/1.1\r\nHost: x\r\nAuthentication: {served.key}\r\n"
                            "Content-Length: 1000\r\n\r\n").encode())
        received = b""
        for _ in range(30):
            try:
                connection.sendall(b" ")
            except (BrokenPipeError, ConnectionResetError):
                break
            connection.settimeout(0.1)
            try:
                chunk = connection.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    status, _, body = parse_raw(received)
    assert status == 408 and json.loads(body)["error"]["code"] == "request_timeout"


# --- slow-loris -----------------------------------------------------------------------------------------


def test_a_slow_loris_crowd_is_disconnected(served):
    """300 connections that send nothing, half a head, or a head byte by byte: all closed by the head limit."""
    connections = []
    for index in range(300):
        connection = socket.create_connection(("127.0.0.1", served.port), timeout=5)
        if index % 3 == 1:
            connection.sendall(f"POST {ENDPOINT} HTTP/1.1\r\nHost: x\r\n".encode())
        connections.append(connection)
    began = time.monotonic()
    health = httpx.get(served.base_url + "/health", timeout=5)
    assert health.status_code == 200 and time.monotonic() - began < 1.0
    closed: set[int] = set()
    deadline = time.monotonic() + 5
    while len(closed) < len(connections) and time.monotonic() < deadline:
        for index, connection in enumerate(connections):
            if index in closed:
                continue
            if index % 3 == 2:  # keeps dripping its head
                try:
                    connection.sendall(b"X")
                except (BrokenPipeError, ConnectionResetError):
                    closed.add(index)
                    continue
            connection.setblocking(False)
            try:
                if connection.recv(1024) == b"":
                    closed.add(index)
            except BlockingIOError:
                pass
            except ConnectionResetError:
                closed.add(index)
        time.sleep(0.1)
    for connection in connections:
        connection.close()
    assert len(closed) == len(connections), f"{len(connections) - len(closed)} slow connections still open"


def test_an_idle_keep_alive_connection_is_closed(served):
    """After an answer, a connection that sends nothing more is closed (keep-alive limit 1 s here)."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while not answer.endswith(b'{"status":"ok"}'):
            answer += connection.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200")
        began = time.monotonic()
        assert connection.recv(65536) == b""
        assert time.monotonic() - began < 3


def test_a_kept_alive_connection_cannot_trickle_its_next_head(served):
    """The head limit applies again to the next request on the same connection."""
    with socket.create_connection(("127.0.0.1", served.port), timeout=5) as connection:
        connection.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while not answer.endswith(b'{"status":"ok"}'):
            answer += connection.recv(65536)
        began = time.monotonic()
        closed = False
        while time.monotonic() - began < 4:
            try:
                connection.sendall(b"G")
                connection.settimeout(0.1)
                if connection.recv(1024) == b"":
                    closed = True
                    break
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        assert closed


# --- the computation limits, with an endpoint whose computation is slow ---------------------------------


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("limits")
    return make_demo_db(workdir / "demo.duckdb", users=50, seed=2, end=DEMO_END)


@pytest.fixture
def limited(small_store, tmp_path):
    """Starts a :class:`ChildServer` (``/api/v1/heavy`` runs until interrupted) with the given limits."""
    servers: list[ChildServer] = []

    def start(**limits: float) -> ChildServer:
        server = ChildServer(small_store, tmp_path / f"child-{len(servers)}.log", limits=limits).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
        assert "Traceback" not in server.log() and "ERROR" not in server.log(), server.log()


def post(server: ApiServer, path: str, timeout: float = 60) -> httpx.Response:
    return httpx.post(server.base_url + path, json={}, timeout=timeout)


def test_a_computation_past_its_limit_is_interrupted_and_answered_503(limited):
    """The query really stops: with one slot, the next request gets it at once instead of waiting forever."""
    server = limited(query_timeout=0.5, max_computations=1, queue_timeout=5)
    began = time.monotonic()
    error = assert_error(post(server, "/api/v1/heavy"), 503, "query_timeout", None)
    assert "0.5 s" in error["message"] and 0.5 <= time.monotonic() - began < 3
    began = time.monotonic()
    assert post(server, ENDPOINT).status_code == 200  # an uninterrupted query would hold the slot for minutes
    assert time.monotonic() - began < 5


def test_past_the_queue_the_answer_is_503_busy_with_retry_after(limited):
    server = limited(max_computations=1, max_queued=1, query_timeout=3, queue_timeout=10)
    with ThreadPoolExecutor(max_workers=2) as pool:
        running = pool.submit(post, server, "/api/v1/heavy")
        time.sleep(0.3)  # orders the requests; no assertion depends on how long anything took
        queued = pool.submit(post, server, "/api/v1/heavy")
        time.sleep(0.3)
        refused = post(server, "/api/v1/heavy", timeout=10)
        error = assert_error(refused, 503, "busy", None)
        assert int(refused.headers["retry-after"]) >= 1
        assert "1 computations are running and 1 waiting" in error["message"]
        assert running.result().json()["error"]["code"] == "query_timeout"
        assert queued.result().json()["error"]["code"] == "query_timeout"


def test_a_queued_computation_waits_at_most_the_queue_limit(limited):
    server = limited(max_computations=1, max_queued=5, query_timeout=3, queue_timeout=0.3)
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(post, server, "/api/v1/heavy")
        time.sleep(0.3)
        began = time.monotonic()
        assert_error(post(server, ENDPOINT, timeout=10), 503, "busy", None)
        assert 0.3 <= time.monotonic() - began < 2
        assert running.result().json()["error"]["code"] == "query_timeout"


def test_health_answers_within_a_second_while_computations_fill_every_slot(limited):
    """64 heavy computations at once (4 run, 16 wait, the rest are refused): /health stays quick.

    The clients are made before the crowd starts, so the latency measured is
    the server's, not the time this process takes to set up 64 clients.
    """
    server = limited(query_timeout=2, queue_timeout=1)
    with httpx.Client(base_url=server.base_url, timeout=60, limits=httpx.Limits(max_connections=100)) as crowd_client, \
            httpx.Client(base_url=server.base_url, timeout=5) as health_client:
        assert health_client.get("/health").status_code == 200
        with ThreadPoolExecutor(max_workers=64) as pool:
            crowd = [pool.submit(crowd_client.post, "/api/v1/heavy", json={}) for _ in range(64)]
            latencies = []
            for _ in range(10):
                began = time.monotonic()
                assert health_client.get("/health").status_code == 200
                latencies.append(time.monotonic() - began)
                time.sleep(0.1)
            codes = [future.result().json()["error"]["code"] for future in crowd]
    assert max(latencies) < 1.0, latencies
    assert set(codes) <= {"busy", "query_timeout"} and codes.count("query_timeout") >= 4 and "busy" in codes


def test_a_client_that_leaves_cancels_its_computation_with_one_info_line(limited):
    server = limited(query_timeout=60, max_computations=1, queue_timeout=5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(b"POST /api/v1/heavy HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        time.sleep(0.5)
    began = time.monotonic()
    assert post(server, ENDPOINT).status_code == 200  # the slot came free: the query was interrupted
    assert time.monotonic() - began < 5
    left = [line for line in server.log().splitlines() if "left before its answer" in line]
    assert len(left) == 1 and left[0].startswith("INFO:") and "computation was cancelled" in left[0]


def test_a_client_that_leaves_mid_body_is_one_info_line(limited):
    server = limited()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(f"POST {ENDPOINT} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{".encode())
        time.sleep(0.2)
    deadline = time.monotonic() + 5
    while "left before its answer" not in server.log():
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.05)
    left = [line for line in server.log().splitlines() if "left before its answer" in line]
    assert len(left) == 1 and left[0].startswith("INFO:") and "whole request" in left[0]


# --- the OpenAPI document names every answer ------------------------------------------------------------


def test_openapi_documents_health_and_the_limit_answers(served):
    document = httpx.get(served.base_url + "/openapi.json").json()
    health = document["paths"]["/health"]["get"]
    assert {"200", "503"} <= set(health["responses"])
    responses = document["paths"][ENDPOINT]["post"]["responses"]
    assert {"200", "400", "401", "404", "405", "408", "413", "500", "503"} <= set(responses)
    examples = responses["503"]["content"]["application/json"]["examples"]
    assert {example["value"]["error"]["code"] for example in examples.values()} == {"busy", "query_timeout"}
    assert "Retry-After" in responses["503"]["headers"]


def test_a_damaged_settings_file_fails_closed_with_one_error_line(tmp_path):
    """Stored keys stop working (503, never a traceback), environment keys go on; mended, all is well again."""
    import subprocess

    db = make_demo_db(tmp_path / "demo.duckdb", users=20, seed=4, end=DEMO_END)
    created = subprocess.run(insights_command("apikey", "create", "--db", str(db), "--name", "k"),
                             capture_output=True, text=True, timeout=120, env=clean_env())
    stored_key = created.stdout.splitlines()[-1]
    settings = tmp_path / "demo.duckdb.settings.json"
    with ApiServer(db, tmp_path / "server.log", env=clean_env(INSIGHTS_API_KEYS=ENV_KEY)) as server:
        def ask(key: str) -> httpx.Response:
            return httpx.post(server.base_url + ENDPOINT, json={}, headers={"Authentication": key}, timeout=30)

        assert ask(stored_key).status_code == 200
        deadline = time.monotonic() + 10  # the server notes the key's first use in the file: let it land first
        while b'"last_used_at": null' in settings.read_bytes():
            assert time.monotonic() < deadline, "first use not recorded"
            time.sleep(0.05)
        sound = settings.read_bytes()
        damaged = tmp_path / "damaged.json"
        damaged.write_bytes(b'{"insights_settings": 1, "sections": {')
        os.replace(damaged, settings)
        for _ in range(3):
            assert_error(ask(stored_key), 503, "unavailable", None)
            assert ask(ENV_KEY).status_code == 200
        replacement = tmp_path / "mended.json"
        replacement.write_bytes(sound)
        os.replace(replacement, settings)
        assert ask(stored_key).status_code == 200
        log = server.log()
    assert "Traceback" not in log
    assert len([line for line in log.splitlines() if "no stored API key is accepted" in line]) == 1
