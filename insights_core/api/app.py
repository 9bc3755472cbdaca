"""The HTTP API (docs/api.md#http-api): the same core as the command line and the dashboard, over HTTP.

:func:`create_app` builds the FastAPI application from :data:`ENDPOINTS`, a
table of :class:`Endpoint` rows (path, parse function, compute function,
response model); ``insights serve`` runs it with uvicorn (:func:`serve`).
Every endpoint shares the same path through a request:

1. authentication: every ``Authentication: <key>`` and every
   ``Authorization: Bearer <key>`` header sent must hold an accepted key
   (docs/api.md#authentication);
2. the body: read within the body time limit, at most 64 KiB, parsed as
   JSON (errors say where), and handed to the endpoint's parse function,
   the one place its parameters are validated;
3. the computation: on a snapshot of the store, on one of a bounded number
   of computation threads, under a time limit that interrupts its DuckDB
   queries (docs/api.md#limits, :mod:`insights_core.api.limits`);
4. the answer: the compute function's document serialised by ``to_json``,
   the exact bytes the command line prints; every error is
   ``{"error": {"code", "message", "field"}}`` (docs/api.md#errors).

Adding an endpoint is one more :class:`Endpoint` row.

The server only reads the store, through ``StoreFile.snapshot()``: when a
writer publishes a new version the next computation opens it while running
ones finish on the old one. Keys are read from the settings file beside the
store and re-read whenever it changes, so a revoked key is refused from the
next request on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence

from fastapi import FastAPI, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPBearer
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from ..auth import keys as api_keys
from ..auth.settings import SettingsFile
from ..attribution import compute_attribution
from ..metrics import compute_breakdown, compute_insights, compute_timeseries, to_json
from ..params import (
    ParameterError,
    parse_attribution_params,
    parse_breakdown_params,
    parse_params,
    parse_timeseries_params,
)
from ..storefile import StoreFile
from ..vocabulary import NO_DATA_MESSAGE
from ..wording import QUOTE_LIMIT, quoted
from .limits import MAX_BODY_BYTES, Busy, Cancellation, ComputationGate, Limits, QueryTimeout
from .schema import (
    ATTRIBUTION_OPTIONS_EXAMPLE,
    ATTRIBUTION_REQUEST_EXAMPLE,
    ATTRIBUTION_RESPONSE_EXAMPLE,
    BREAKDOWN_EXAMPLE,
    BREAKDOWN_REQUEST_EXAMPLE,
    RESPONSE_EXAMPLE,
    TIMESERIES_EXAMPLE,
    TIMESERIES_REQUEST_EXAMPLE,
    TIME_FRAME_EXAMPLE,
    TOUCH_SCOPE_EXAMPLE,
    AttributionRequest,
    AttributionResponse,
    BreakdownRequest,
    BreakdownResponse,
    ErrorResponse,
    HealthResponse,
    InsightsRequest,
    InsightsResponse,
    NoDataResponse,
    TimeseriesRequest,
    TimeseriesResponse,
    error_example,
)

__all__ = ["ENDPOINT", "ENDPOINTS", "HEALTH", "MAX_BODY_BYTES", "Endpoint", "create_app", "serve"]

HEALTH = "/health"
log = logging.getLogger("insights.api")


@dataclass(frozen=True)
class Endpoint:
    """One ``POST`` endpoint: where it is, how its body becomes parameters, what it computes, how it is documented.

    ``parse`` takes the body's JSON object and returns the endpoint's
    parameters or raises ``ParameterError(field, message)``; ``compute`` takes
    a store connection (it must take cursors with ``insights_core.cursor``,
    so that a time limit can interrupt them) and the parameters, and returns
    the answer document that ``serialise`` turns into the response body.
    """

    path: str
    summary: str
    description: str
    parse: Callable[[dict[str, Any]], Any]
    compute: Callable[[Any, Any], Mapping[str, Any]]
    request_model: type[BaseModel]
    response_model: Any
    ok_examples: Mapping[str, Any] = field(default_factory=dict)
    request_examples: Mapping[str, Any] = field(default_factory=dict)
    serialise: Callable[[Mapping[str, Any]], str] = to_json


INSIGHTS = Endpoint(
    path="/api/v1/insights",
    summary="Cohort-level attribution insights",
    description=(
        "Users with at least one session matching every parameter form the cohort; the metrics look at their"
        " whole journeys (docs/metrics.md#cohort). All parameters are optional; an empty body means the last"
        f" 30 days. When no user matches, the answer is `{{\"message\": \"{NO_DATA_MESSAGE}\"}}` with status 200."
    ),
    parse=parse_params,
    compute=compute_insights,
    request_model=InsightsRequest,
    response_model=InsightsResponse | NoDataResponse,
    ok_examples={
        "insights": {"summary": "The public doc's example response", "value": RESPONSE_EXAMPLE},
        "no_data": {"summary": "No matching user", "value": {"message": NO_DATA_MESSAGE}},
    },
    request_examples={
        "time_frame": {"summary": "Filter by time frame", "value": TIME_FRAME_EXAMPLE},
        "touch_scope": {"summary": "Filter by touch scope", "value": TOUCH_SCOPE_EXAMPLE},
    },
)

ATTRIBUTION = Endpoint(
    path="/api/v1/attribution",
    summary="Credit per channel by seven attribution models side by side",
    description=(
        "The cohort is chosen as for /api/v1/insights; its attributed conversions (each converted person's first,"
        " or all) are shared out among their touchpoints by first_touch, last_touch, last_non_direct, linear,"
        " position_based, time_decay and data_driven, with the top conversion paths and the path lengths"
        " (docs/metrics.md#attribution). When no user matches, the answer is"
        f" `{{\"message\": \"{NO_DATA_MESSAGE}\"}}` with status 200."
    ),
    parse=parse_attribution_params,
    compute=compute_attribution,
    request_model=AttributionRequest,
    response_model=AttributionResponse | NoDataResponse,
    ok_examples={
        "attribution": {"summary": "The worked example of docs/metrics.md", "value": ATTRIBUTION_RESPONSE_EXAMPLE},
        "no_data": {"summary": "No matching user", "value": {"message": NO_DATA_MESSAGE}},
    },
    request_examples={
        "july": {"summary": "July, every default", "value": ATTRIBUTION_REQUEST_EXAMPLE},
        "options": {"summary": "A channel's people, every conversion, a 30-day lookback",
                    "value": ATTRIBUTION_OPTIONS_EXAMPLE},
    },
)

TIMESERIES = Endpoint(
    path="/api/v1/timeseries",
    summary="Trend: sessions, users and conversions per day, week or month",
    description=(
        "The matching sessions of the cohort counted per UTC period of `interval` (day, ISO week from Monday, or"
        " month), one bucket per period that overlaps the window, oldest first, empty ones included"
        " (docs/metrics.md#trend). Takes every parameter of /insights plus `interval`; more than 3,700 buckets is a"
        " 400 naming `interval`. When no user matches, every bucket is there with zero counts."
    ),
    parse=parse_timeseries_params,
    compute=compute_timeseries,
    request_model=TimeseriesRequest,
    response_model=TimeseriesResponse,
    ok_examples={"trend": {"summary": "July by week", "value": TIMESERIES_EXAMPLE}},
    request_examples={"by_week": {"summary": "July by week", "value": TIMESERIES_REQUEST_EXAMPLE}},
)

BREAKDOWN = Endpoint(
    path="/api/v1/breakdown",
    summary="Breakdown: the matching sessions by channel, campaign, landing page, …",
    description=(
        "The matching sessions of the cohort grouped by their value of `dimension` (required), sessions without"
        " a value in a row whose `value` is null; by sessions descending, the first `limit` (default 100)"
        " (docs/metrics.md#breakdown). Takes every parameter of /insights plus `dimension` and `limit`. When no"
        " user matches, `rows` is empty."
    ),
    parse=parse_breakdown_params,
    compute=compute_breakdown,
    request_model=BreakdownRequest,
    response_model=BreakdownResponse,
    ok_examples={"by_campaign": {"summary": "By campaign", "value": BREAKDOWN_EXAMPLE}},
    request_examples={"by_campaign": {"summary": "July's top 20 campaigns", "value": BREAKDOWN_REQUEST_EXAMPLE}},
)

ENDPOINTS: tuple[Endpoint, ...] = (INSIGHTS, ATTRIBUTION, TIMESERIES, BREAKDOWN)
"""Every computing endpoint; each shares authentication, limits, errors and serialisation."""

ENDPOINT = INSIGHTS.path


# --- errors --------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message", "field"}}`` (docs/api.md#errors)."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field, self.headers = status, code, message, field, headers

    def response(self) -> JSONResponse:
        return error_response(self.status, self.code, self.message, self.field, self.headers)


MAX_MESSAGE = 500
"""The last guard on message length: a value is quoted at most ``QUOTE_LIMIT`` characters where it is named
(``wording.quoted``); a message that still comes out longer is cut here."""


def error_response(status: int, code: str, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    if len(message) > MAX_MESSAGE:
        message = f"{message[:MAX_MESSAGE]}… ({len(message):,} characters)"
    if field is not None and len(field) > QUOTE_LIMIT:
        field = f"{field[:QUOTE_LIMIT]}…"
    return JSONResponse({"error": {"code": code, "message": message, "field": field}}, status, headers=headers)


class _ClientGone(Exception):
    """The client disconnected; nobody is left to answer."""


_STATUS_CODES = {
    400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
    408: "request_timeout", 413: "payload_too_large", 500: "internal_error", 503: "unavailable",
}
INTERNAL_ERROR_MESSAGE = "internal server error ({id}); the server log has the details"


def _error_doc(description: str, examples: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    content: dict[str, Any] = (
        {"example": next(iter(examples.values()))} if len(examples) == 1
        else {"examples": {name: {"summary": name.replace("_", " "), "value": value}
                           for name, value in examples.items()}}
    )
    return {"model": ErrorResponse, "description": description, "content": {"application/json": content}}


_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorResponse,
        "description": "A bad parameter (`field` names it), malformed JSON (the message says where) or a body that"
                       " is not a JSON object.",
        "content": {"application/json": {"examples": {
            "parameter": {"summary": "Bad parameter", "value": error_example(
                "invalid_parameter", "touch_scope must be one of any, first, converting, assist, after, got 'last'",
                "touch_scope")},
            "json": {"summary": "Malformed JSON", "value": error_example(
                "malformed_json", "malformed JSON: trailing comma at line 3 column 27; remove it")},
        }}},
    },
    401: _error_doc("Missing, wrong or revoked API key (in any `Authentication` or `Authorization` header sent).",
                    {"missing": error_example("unauthorized", "missing API key: send 'Authentication: <key>'"
                                              " or 'Authorization: Bearer <key>'")}),
    404: _error_doc("No such endpoint (a trailing slash is not added or removed for you).",
                    {"not_found": error_example("not_found", "no such endpoint: '/api/v1/insights/'; did you mean"
                                                " POST /api/v1/insights (without the trailing slash)?")}),
    405: _error_doc("The endpoint takes another method; the `Allow` header names it.",
                    {"method": error_example("method_not_allowed", "GET is not allowed on /api/v1/insights;"
                                             " use POST")}),
    408: _error_doc("The request body did not arrive within the server's body time limit.",
                    {"timeout": error_example("request_timeout", "the request body did not arrive within 10 s")}),
    413: _error_doc("Request body over 64 KiB.",
                    {"too_large": error_example("payload_too_large", f"the request body is over {MAX_BODY_BYTES}"
                                                " bytes")}),
    500: _error_doc("Internal error; details only in the server log.",
                    {"internal": error_example("internal_error", INTERNAL_ERROR_MESSAGE.format(id="error 5f1c9a2e"))}),
    503: {
        "model": ErrorResponse,
        "description": "The server is at its limits (docs/api.md#limits): every computation slot is taken and the"
                       " queue is full (`busy`, with a `Retry-After` header in seconds), or the computation ran past"
                       " its time limit and was cancelled (`query_timeout`).",
        "headers": {"Retry-After": {"description": "With `busy`: seconds after which a retry is likely to be"
                                    " served.", "schema": {"type": "integer"}}},
        "content": {"application/json": {"examples": {
            "busy": {"summary": "Too many computations", "value": error_example(
                "busy", "the server is busy: 4 computations are running and 16 waiting; retry in 3 s")},
            "query_timeout": {"summary": "Computation too long", "value": error_example(
                "query_timeout", "the computation ran past the server's limit of 30 s and was cancelled;"
                " narrow the window or the filters")},
        }}},
    },
}


# --- authentication ------------------------------------------------------------------------------

_authentication_header = APIKeyHeader(
    name="Authentication", auto_error=False, scheme_name="Authentication",
    description="The API key as the whole header value, as in the public doc: `Authentication: <key>`.",
)
_bearer = HTTPBearer(
    auto_error=False, scheme_name="Bearer",
    description="The API key as a bearer token: `Authorization: Bearer <key>`.",
)


def presented_keys(request: Request) -> list[str | None]:
    """Every key the request presents, one per auth header sent; ``None`` for a header that holds no key.

    A header may be sent twice; each occurrence counts, so a wrong key
    cannot hide behind a valid one.
    """
    presented: list[str | None] = [value.strip() or None for value in request.headers.getlist("authentication")]
    for value in request.headers.getlist("authorization"):
        scheme, _, token = value.strip().partition(" ")
        presented.append(token.strip() or None if scheme.lower() == "bearer" else None)
    return presented


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


# --- the application -------------------------------------------------------------------------------


def create_app(
    db_path: str | Path,
    *,
    require_auth: bool = True,
    env_keys: Sequence[str] | None = None,
    limits: Limits | None = None,
    usage_interval: float = 5.0,
    endpoints: Sequence[Endpoint] = ENDPOINTS,
    engine: Any = None,
) -> FastAPI:
    """The API over the store at ``db_path``.

    ``env_keys`` defaults to ``INSIGHTS_API_KEYS``; with ``require_auth=False``
    (``--insecure-no-auth``) every request is answered without a key.
    ``limits`` defaults to :class:`Limits`' defaults. ``engine``, a Spark
    engine over a lake (docs/scale.md#running-on-spark), answers instead of
    the store, whose settings file still holds the keys.
    """
    limits = limits or Limits()
    store_file = StoreFile(db_path)
    settings = SettingsFile(Path(db_path))
    keys = api_keys.AcceptedKeys(settings, api_keys.env_keys() if env_keys is None else env_keys)
    usage = api_keys.KeyUsage(settings, interval=usage_interval)
    gate = ComputationGate(limits)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        usage.start()
        try:
            yield
        finally:
            usage.stop()
            gate.shutdown()
            store_file.close()

    paths = ", ".join(f"POST {endpoint.path}" for endpoint in endpoints)
    app = FastAPI(
        title="Insights API",
        version="1",
        summary="Marketing-attribution insights over your own sessions and conversions.",
        description=(
            f"{paths}: each takes its parameters as a JSON object and answers with a JSON document. Authenticate"
            " with `Authentication: <key>` or `Authorization: Bearer <key>`; create keys with"
            " `insights apikey create`. Errors are `{\"error\": {\"code\", \"message\", \"field\"}}`."
        ),
        lifespan=lifespan,
        redoc_url=None,
        redirect_slashes=False,  # a 307 to the slash-less path would make clients re-send bodies and keys
    )
    app.state.store_file = store_file
    app.state.accepted_keys = keys
    app.state.key_usage = usage
    app.state.gate = gate
    app.state.limits = limits

    async def authenticate(
        request: Request,
        authentication: str | None = Security(_authentication_header),  # documents the schemes;
        bearer: Any = Security(_bearer),                                 # every occurrence is read below
    ) -> None:
        presented = presented_keys(request)
        if not presented:
            raise _unauthorized("missing API key: send 'Authentication: <key>' or 'Authorization: Bearer <key>'")
        if not keys.is_current():
            with _internal_errors_logged():
                await run_in_threadpool(keys.refresh)
        matched = [keys.match(value) if value is not None else None for value in presented]
        if None in matched and keys.problem is not None:
            raise ApiError(503, "unavailable", "the server cannot read its stored API keys (the settings file beside"
                           " the database); the server log has the details")
        if None in matched:  # every header sent must hold a valid key
            raise _unauthorized("invalid API key (wrong or revoked)")
        for key_hash in set(matched):
            usage.record(key_hash)  # type: ignore[arg-type]

    dependencies = [Security(authenticate)] if require_auth else []
    for endpoint in endpoints:
        _add_endpoint(app, endpoint, store_file, gate, limits, dependencies, engine)

    @app.get(
        HEALTH,
        summary="Readiness",
        description="The server runs and can open the store. No authentication, no data; answered at once even"
                    " while computations run (it never waits for a computation slot).",
        response_model=HealthResponse,
        responses={
            503: _error_doc("The store cannot be opened.", {"unavailable": error_example(
                "unavailable", "the database cannot be opened; the server log has the details")}),
            405: _ERROR_RESPONSES[405],
        },
        tags=["health"],
    )
    async def health() -> JSONResponse:
        def probe() -> None:
            if engine is not None:
                engine.ready()
                return
            with store_file.snapshot():
                pass

        try:
            await run_in_threadpool(probe)  # the loop's threads: computations never take them
        except Exception:  # noqa: BLE001 - reported as not ready, details in the log
            log.exception("health check failed")
            return error_response(503, "unavailable", "the database cannot be opened; the server log has the details")
        return JSONResponse({"status": "ok"})

    _add_error_handlers(app, endpoints)
    app.openapi = lambda: _openapi(app, endpoints)  # type: ignore[method-assign]
    return app


def _add_endpoint(app: FastAPI, endpoint: Endpoint, store_file: StoreFile, gate: ComputationGate,
                  limits: Limits, dependencies: list[Any], engine: Any = None) -> None:
    """Route ``POST endpoint.path`` through the shared request path (see the module docstring)."""

    def work(params: Any) -> Callable[[Cancellation], bytes]:
        def compute(cancellation: Cancellation) -> bytes:
            if engine is not None:
                document = endpoint.compute(cancellation.track_engine(engine), params)
                return endpoint.serialise(document).encode("utf-8")
            with store_file.snapshot() as con:
                try:
                    document = endpoint.compute(cancellation.track(con), params)
                finally:
                    cancellation.close()
            return endpoint.serialise(document).encode("utf-8")
        return compute

    async def answer(request: Request) -> Response:
        try:
            with _internal_errors_logged():
                body = await read_body(request, limits.body_timeout)
                params = validate(parse_json(body), endpoint.parse)
                content = await _compute_unless_client_leaves(request, gate.run(work(params)))
                return Response(content, media_type="application/json")
        except Busy as busy:
            return error_response(
                503, "busy", f"the server is busy: {gate.running} computations are running and {gate.queued}"
                f" waiting; retry in {busy.retry_after} s", headers={"Retry-After": str(busy.retry_after)})
        except QueryTimeout:
            return error_response(
                503, "query_timeout", f"the computation ran past the server's limit of {limits.query_timeout:g} s"
                " and was cancelled; narrow the window or the filters")
        except _ClientGone as gone:
            log.info("client %s left before its answer (%s)", _client(request), gone)
            return Response(status_code=204)  # never delivered: the connection is gone

    app.add_api_route(
        endpoint.path, answer, methods=["POST"],
        summary=endpoint.summary, description=endpoint.description,
        response_model=endpoint.response_model,
        responses={
            200: {"description": "The answer.", "content": {"application/json": {"examples": dict(endpoint.ok_examples)}}},
            **_ERROR_RESPONSES,
        },
        dependencies=dependencies,
        openapi_extra={"requestBody": {
            "required": False,
            "description": f"The parameters as a JSON object (at most {MAX_BODY_BYTES // 1024} KiB).",
            "content": {"application/json": {
                "schema": {"$ref": f"#/components/schemas/{endpoint.request_model.__name__}"},
                "examples": dict(endpoint.request_examples),
            }},
        }},
    )


async def _compute_unless_client_leaves(request: Request, computation: Awaitable[bytes]) -> bytes:
    """The computation's result; if the client disconnects first, the computation is cancelled."""
    computing = asyncio.ensure_future(computation)
    leaving = asyncio.ensure_future(_disconnect(request))
    try:
        done, _ = await asyncio.wait({computing, leaving}, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        computing.cancel()
        raise
    finally:
        leaving.cancel()
    if computing in done:
        return computing.result()
    computing.cancel()
    raise _ClientGone("its computation was cancelled")


async def _disconnect(request: Request) -> None:
    """Returns when the client disconnects (the body has been read: nothing else can arrive)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _client(request: Request) -> str:
    return f"{request.client.host}:{request.client.port}" if request.client else "unknown"


@contextmanager
def _internal_errors_logged() -> Iterator[None]:
    """Any unexpected failure becomes a 500 without internals; its traceback goes to the log under an id.

    Handled here rather than left to Starlette, which would re-raise it to
    uvicorn and drop the client's keep-alive connection.
    """
    try:
        yield
    except (ApiError, Busy, QueryTimeout, _ClientGone):
        raise
    except ClientDisconnect:
        raise _ClientGone("before sending its whole request") from None
    except Exception:
        error_id = "error " + secrets.token_hex(4)
        log.exception("%s while answering a request", error_id)
        raise ApiError(500, "internal_error", INTERNAL_ERROR_MESSAGE.format(id=error_id)) from None


# --- reading the body ---------------------------------------------------------------------------


async def read_body(request: Request, timeout: float) -> bytes:
    """The body, refused with 413 beyond 64 KiB (by its declared length, and while streaming) and 408 when slow."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise _too_large()
                chunks.append(chunk)
    except TimeoutError:
        raise ApiError(408, "request_timeout", f"the request body did not arrive within {timeout:g} s",
                       headers={"Connection": "close"}) from None
    return b"".join(chunks)


def _too_large() -> ApiError:
    return ApiError(413, "payload_too_large", f"the request body is over {MAX_BODY_BYTES} bytes",
                    headers={"Connection": "close"})


class _TopLevelDuplicates:
    """``object_pairs_hook`` remembering the duplicate keys of the object built last (the outermost one)."""

    def __init__(self) -> None:
        self.duplicates: list[str] = []

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        self.duplicates = []
        for key, value in pairs:
            if key in seen and key not in self.duplicates:
                self.duplicates.append(key)
            seen[key] = value
        return seen


_LONG_INTEGER = re.compile(r"-?\d{4301,}")


def parse_json(body: bytes) -> Any:
    """The body as JSON; an empty body is ``{}``. Errors say where (line and column) and are 400s."""
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = body[: error.start].decode("utf-8", "replace")
        line, column = _line_column(before, len(before))
        raise ApiError(400, "malformed_json",
                       f"the request body is not UTF-8: bad byte at line {line} column {column}") from None
    hook = _TopLevelDuplicates()
    try:
        value = json.loads(text, object_pairs_hook=hook)
    except json.JSONDecodeError as error:
        raise ApiError(400, "malformed_json", json_error_message(text, error)) from None
    except RecursionError:
        raise ApiError(400, "malformed_json", "malformed JSON: nested too deeply") from None
    except ValueError:
        # Python refuses to turn a string of over 4,300 digits into an int (a guard against slow conversions).
        found = _LONG_INTEGER.search(text)
        where = " at line {} column {}".format(*_line_column(text, found.start())) if found else ""
        raise ApiError(400, "malformed_json", f"malformed JSON: a number with more than 4,300 digits{where}") from None
    _check_unicode(text, value)
    if isinstance(value, dict) and hook.duplicates:
        name = hook.duplicates[0]
        raise ApiError(400, "invalid_parameter", f"parameter {quoted(name)} is given more than once", name)
    return value


_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def _check_unicode(text: str, value: Any) -> None:
    """JSON may escape half a UTF-16 pair (``"\\ud800"``), which is no character at all: a 400, not a crash."""
    def strings(item: Any) -> Iterator[str]:
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for key, sub in item.items():
                yield key
                yield from strings(sub)
        elif isinstance(item, list):
            for sub in item:
                yield from strings(sub)

    for string in strings(value):
        try:
            string.encode("utf-8")
        except UnicodeEncodeError:
            found = _LONE_SURROGATE.search(text)
            where = " at line {} column {}".format(*_line_column(text, found.start())) if found else ""
            raise ApiError(400, "malformed_json",
                           f"malformed JSON: \\u escape of half a surrogate pair{where}") from None


def json_error_message(text: str, error: json.JSONDecodeError) -> str:
    """Where and what is wrong; a trailing comma is pointed at itself, not at the bracket after it.

    (Python before 3.13 reports ``{"a": 1,}`` as "Expecting property name" at
    the ``}``; the public doc's first example has exactly that comma.)
    """
    comma = None
    if "trailing comma" in error.msg and text[error.pos: error.pos + 1] == ",":
        comma = error.pos
    elif text[error.pos: error.pos + 1] in ("}", "]"):
        before = len(text[: error.pos].rstrip()) - 1
        if before >= 0 and text[before] == ",":
            comma = before
    if comma is not None:
        line, column = _line_column(text, comma)
        return f"malformed JSON: trailing comma at line {line} column {column}; remove it"
    return f"malformed JSON: {error.msg} at line {error.lineno} column {error.colno}"


def _line_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of ``position`` in ``text``."""
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


def validate(raw: Any, parse: Callable[[dict[str, Any]], Any] = parse_params) -> Any:
    """The endpoint's parameters through its parse function: the one place they are validated."""
    if not isinstance(raw, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(raw), "a number")
        raise ApiError(400, "invalid_body", f"the request body must be a JSON object of parameters, got {kind}")
    try:
        return parse(raw)
    except ParameterError as error:
        raise ApiError(400, "invalid_parameter", error.message, error.field) from None


# --- errors for what no endpoint handles -------------------------------------------------------


def _add_error_handlers(app: FastAPI, endpoints: Sequence[Endpoint]) -> None:
    """Every error as ``{"error": {"code", "message", "field"}}``; never a traceback."""
    known = {endpoint.path for endpoint in endpoints}
    listing = ", ".join(f"POST {path}" for path in sorted(known))

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return error.response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        path = request.url.path
        headers = getattr(error, "headers", None)
        if error.status_code == 404:
            trimmed = path.rstrip("/")
            if trimmed != path and trimmed in known:
                message = (f"no such endpoint: {_shown(path)}; did you mean POST {trimmed}"
                           " (without the trailing slash)?")
            else:
                message = f"no such endpoint: {_shown(path)}; the API has {listing} and GET {HEALTH}"
        elif error.status_code == 405:
            order = ("GET", "HEAD", "POST")
            allowed = sorted({method.strip() for method in (headers or {}).get("Allow", "").split(",") if method.strip()},
                             key=lambda method: (order.index(method) if method in order else len(order), method))
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}  # one order, not a set's
            use = " or ".join(method for method in allowed if method != "HEAD") or "another method"
            message = f"{request.method} is not allowed on {_shown(path)}; use {use}"
        else:
            message = str(error.detail)
        code = _STATUS_CODES.get(error.status_code, "http_error")
        return error_response(error.status_code, code, message, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def request_error(request: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(400, "bad_request", "the request cannot be read")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        # The last line of defence: Starlette logs the exception with its traceback after this response.
        return error_response(500, "internal_error", INTERNAL_ERROR_MESSAGE.format(id="unexpected"))


def _shown(path: str) -> str:
    """A request path for a message: as it is when short and plain, else quoted (and cut)."""
    return path if len(path) <= QUOTE_LIMIT and path.isprintable() else quoted(path)


def _openapi(app: FastAPI, endpoints: Sequence[Endpoint]) -> dict[str, Any]:
    """FastAPI's document, plus the request models the endpoints document but do not parse themselves."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, summary=app.summary, description=app.description,
            routes=app.routes,
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for endpoint in endpoints:
            model = endpoint.request_model
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            if endpoint.request_examples:  # in the doc's key order
                schema["examples"] = [example["value"] for example in endpoint.request_examples.values()]
            schemas[model.__name__] = schema
        app.openapi_schema = document
    return app.openapi_schema


def serve(
    db_path: str | Path, host: str = "127.0.0.1", port: int = 8000, *,
    require_auth: bool = True, env_keys: Sequence[str] | None = None, limits: Limits | None = None,
    engine: Any = None,
) -> None:
    """Run the API with uvicorn until interrupted (``insights serve``)."""
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    limits = limits or Limits()
    log_config = {**LOGGING_CONFIG, "loggers": {
        **LOGGING_CONFIG["loggers"], "insights": {"handlers": ["default"], "level": "INFO", "propagate": False},
    }}
    app = create_app(db_path, require_auth=require_auth, env_keys=env_keys, limits=limits, engine=engine)
    uvicorn.Server(uvicorn_config(app, host, port, limits, log_config=log_config)).run()


def uvicorn_config(app: FastAPI, host: str, port: int, limits: Limits, log_config: Any = None) -> Any:
    """How ``insights serve`` runs uvicorn: h11 with the head deadline, no websockets, the keep-alive limit."""
    import uvicorn

    from .limits import http_protocol

    return uvicorn.Config(
        app, host=host, port=port, server_header=False, log_level="info", log_config=log_config,
        http=http_protocol(limits), ws="none", lifespan="on",
        timeout_keep_alive=limits.keep_alive_timeout,  # type: ignore[arg-type]
    )
