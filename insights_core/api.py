"""The HTTP API (SPEC 5.1): ``POST /api/v1/insights`` over the same core as the CLI and the dashboard.

:func:`create_app` builds the FastAPI application; ``insights serve`` runs it
with uvicorn (:func:`serve`). A request is authenticated (``Authentication:
<key>`` or ``Authorization: Bearer <key>``), its body read (at most 64 KiB)
and parsed as JSON, its parameters validated by ``parse_params`` and the
answer computed by ``compute_insights`` on a snapshot of the database and
serialised by ``to_json``: the exact bytes ``insights query`` prints.

The server only reads the database, through ``StoreFile.snapshot()``: each
request runs on a cursor of the current read-only connection, so requests
run concurrently, and when a writer (``insights load``, ``insights apikey``)
publishes a new version of the file the next request opens it while the
requests already running finish on the old one. API keys are read from the
same snapshot and re-read whenever the file's version changes, so a revoked
key is rejected from the next request on.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, Sequence

from fastapi import FastAPI, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import apikeys
from .api_schema import (
    RESPONSE_EXAMPLE,
    TIME_FRAME_EXAMPLE,
    TOUCH_SCOPE_EXAMPLE,
    ErrorResponse,
    InsightsRequest,
    InsightsResponse,
    NoDataResponse,
    error_example,
)
from .compute import NO_DATA_MESSAGE, compute_insights, to_json
from .params import InsightsParams, ParameterError, parse_params
from .storefile import StoreFile

ENDPOINT = "/api/v1/insights"
HEALTH = "/health"
MAX_BODY_BYTES = 64 * 1024
"""SPEC 5.1: larger bodies get 413 (a full request body is a few hundred bytes)."""

log = logging.getLogger("insights.api")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    500: "internal_error",
}


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message", "field"}}`` (SPEC 5.1)."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field, self.headers = status, code, message, field, headers

    def response(self) -> JSONResponse:
        return error_response(self.status, self.code, self.message, self.field, self.headers)


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "field": field}}, status, headers=headers)


class AcceptedKeys:
    """The key hashes the server accepts: the active stored keys of the current snapshot, and the env keys.

    The stored ones are re-read whenever the database file's version changes
    (a ``stat`` per request tells), so a revoked key stops working at once.
    """

    def __init__(self, store_file: StoreFile, env_keys: Sequence[str]) -> None:
        self._store_file = store_file
        self._env = {apikeys.hash_key(key): "INSIGHTS_API_KEYS" for key in env_keys}
        self._stored: dict[str, str] = {}
        self._version: object = None
        self._lock = threading.Lock()

    def is_current(self) -> bool:
        return self._store_file.version() == self._version

    def refresh(self) -> None:
        """Re-read the stored keys (blocking: call it off the event loop)."""
        with self._lock:
            version = self._store_file.version()  # before reading: a newer file is noticed next time
            if version == self._version:
                return
            with self._store_file.snapshot() as con:
                stored = apikeys.active_key_hashes(con)
            self._stored, self._version = stored, version

    def match(self, presented: str) -> str | None:
        """The hash of the accepted key ``presented`` is, compared in constant time; ``None`` if none."""
        return apikeys.match_key(presented, [*self._stored, *self._env])

    def count(self) -> int:
        return len(self._stored) + len(self._env)


_authentication_header = APIKeyHeader(
    name="Authentication", auto_error=False, scheme_name="Authentication",
    description="The API key as the whole header value, as in the public doc: `Authentication: <key>`.",
)
_bearer = HTTPBearer(
    auto_error=False, scheme_name="Bearer",
    description="The API key as a bearer token: `Authorization: Bearer <key>`.",
)

_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorResponse,
        "description": "A bad parameter (``field`` names it), malformed JSON (the message says where) or a body that is not a JSON object.",
        "content": {"application/json": {"examples": {
            "parameter": {"summary": "Bad parameter", "value": error_example(
                "invalid_parameter", "touch_scope must be one of any, first, converting, assist, after, got 'last'",
                "touch_scope")},
            "json": {"summary": "Malformed JSON", "value": error_example(
                "malformed_json", "malformed JSON: trailing comma at line 3 column 27; remove it")},
        }}},
    },
    401: {"model": ErrorResponse, "description": "Missing, wrong or revoked API key.",
          "content": {"application/json": {"example": error_example(
              "unauthorized", "missing API key: send 'Authentication: <key>' or 'Authorization: Bearer <key>'")}}},
    413: {"model": ErrorResponse, "description": "Request body over 64 KiB.",
          "content": {"application/json": {"example": error_example(
              "payload_too_large", "the request body is over 65536 bytes")}}},
    500: {"model": ErrorResponse, "description": "Internal error; details only in the server log.",
          "content": {"application/json": {"example": error_example(
              "internal_error", "internal server error (error 5f1c9a2e); the server log has the details")}}},
}


def create_app(
    db_path: str | Path,
    *,
    require_auth: bool = True,
    env_keys: Sequence[str] | None = None,
    usage_interval: float = 5.0,
) -> FastAPI:
    """The API over the database at ``db_path``.

    ``env_keys`` defaults to ``INSIGHTS_API_KEYS``; with ``require_auth=False``
    (``--insecure-no-auth``) every request is answered without a key.
    """
    store_file = StoreFile(db_path)
    keys = AcceptedKeys(store_file, apikeys.env_keys() if env_keys is None else env_keys)
    usage = apikeys.KeyUsageLog(db_path, interval=usage_interval)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        usage.start()
        try:
            yield
        finally:
            usage.stop()
            store_file.close()

    app = FastAPI(
        title="Insights API",
        version="1",
        summary="Marketing-attribution insights over your own sessions and conversions.",
        description=(
            "`POST /api/v1/insights` returns cohort-level attribution metrics for the users with at least one"
            " session matching the parameters. Authenticate with `Authentication: <key>` or"
            " `Authorization: Bearer <key>`; create keys with `insights apikey create`."
        ),
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.store_file = store_file
    app.state.accepted_keys = keys
    app.state.key_usage = usage

    async def authenticate(
        authentication: str | None = Security(_authentication_header),
        bearer: HTTPAuthorizationCredentials | None = Security(_bearer),
    ) -> None:
        presented = [value for value in (authentication, bearer.credentials if bearer else None) if value]
        if not presented:
            raise _unauthorized("missing API key: send 'Authentication: <key>' or 'Authorization: Bearer <key>'")
        if not keys.is_current():
            with _internal_errors_logged():
                await run_in_threadpool(keys.refresh)
        matched = [keys.match(value) for value in presented]  # both headers sent: both must hold a valid key
        if None in matched:
            raise _unauthorized("invalid API key (wrong or revoked)")
        for key_hash in set(matched):
            usage.record(key_hash)

    def answer(params: InsightsParams) -> bytes:
        with store_file.snapshot() as con:
            document = compute_insights(con, params)
        return to_json(document).encode("utf-8")

    @app.post(
        ENDPOINT,
        summary="Cohort-level attribution insights",
        description=(
            "Users with at least one session matching every parameter form the cohort; the metrics look at their"
            " whole journeys (SPEC 3.4). All parameters are optional; an empty body means the last 30 days."
            f" When no user matches, the answer is `{{\"message\": \"{NO_DATA_MESSAGE}\"}}` with status 200."
        ),
        response_model=InsightsResponse | NoDataResponse,
        responses={
            200: {"description": "The insights (SPEC 4.5), or the no-data message (SPEC 3.4).",
                  "content": {"application/json": {"examples": {
                      "insights": {"summary": "The public doc's example response", "value": RESPONSE_EXAMPLE},
                      "no_data": {"summary": "No matching user", "value": {"message": NO_DATA_MESSAGE}},
                  }}}},
            **_ERROR_RESPONSES,
        },
        dependencies=[Security(authenticate)] if require_auth else [],
        openapi_extra={"requestBody": {
            "required": False,
            "description": "The SPEC 3 parameters as a JSON object (at most 64 KiB).",
            "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/InsightsRequest"},
                "examples": {
                    "time_frame": {"summary": "Filter by time frame", "value": TIME_FRAME_EXAMPLE},
                    "touch_scope": {"summary": "Filter by touch scope", "value": TOUCH_SCOPE_EXAMPLE},
                },
            }},
        }},
    )
    async def insights(request: Request) -> Response:
        with _internal_errors_logged():
            body = await read_body(request)
            params = validate(parse_json(body))
            return Response(await run_in_threadpool(answer, params), media_type="application/json")

    @app.get(HEALTH, include_in_schema=False)
    async def health() -> JSONResponse:
        """Readiness: the database can be opened. No authentication, no data."""
        def probe() -> None:
            with store_file.snapshot():
                pass
        try:
            await run_in_threadpool(probe)
        except Exception:  # noqa: BLE001 - reported as not ready, details in the log
            log.exception("health check failed")
            return error_response(503, "unavailable", "the database cannot be opened; the server log has the details")
        return JSONResponse({"status": "ok"})

    _add_error_handlers(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


INTERNAL_ERROR_MESSAGE = "internal server error ({id}); the server log has the details"


@contextmanager
def _internal_errors_logged() -> Iterator[None]:
    """Any unexpected failure becomes a 500 without internals; its traceback goes to the log under an id.

    Handled here rather than left to Starlette, which would re-raise it to
    uvicorn and drop the client's keep-alive connection.
    """
    try:
        yield
    except ApiError:
        raise
    except Exception:
        error_id = "error " + secrets.token_hex(4)
        log.exception("%s while answering a request", error_id)
        raise ApiError(500, "internal_error", INTERNAL_ERROR_MESSAGE.format(id=error_id)) from None


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


async def read_body(request: Request) -> bytes:
    """The body, refused with 413 beyond 64 KiB: by its declared length before reading, and while streaming."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> ApiError:
    return ApiError(413, "payload_too_large", f"the request body is over {MAX_BODY_BYTES} bytes")


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


def parse_json(body: bytes) -> Any:
    """The body as JSON; an empty body is ``{}``. Errors say where (line and column) and are 400s."""
    if not body.strip():
        return {}
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = body[: error.start].decode("utf-8", "replace")
        line, column = _line_column(before, len(before))
        raise ApiError(400, "malformed_json", f"the request body is not UTF-8: bad byte at line {line} column {column}") from None
    hook = _TopLevelDuplicates()
    try:
        value = json.loads(text, object_pairs_hook=hook)
    except json.JSONDecodeError as error:
        raise ApiError(400, "malformed_json", json_error_message(text, error)) from None
    except RecursionError:
        raise ApiError(400, "malformed_json", "malformed JSON: nested too deeply") from None
    _check_unicode(text, value)
    if isinstance(value, dict) and hook.duplicates:
        name = hook.duplicates[0]
        raise ApiError(400, "invalid_parameter", f"parameter {name!r} is given more than once", name)
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
            raise ApiError(400, "malformed_json", f"malformed JSON: \\u escape of half a surrogate pair{where}") from None


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


def validate(raw: Any) -> InsightsParams:
    """SPEC 3 through ``parse_params``: the one place parameters are validated."""
    if not isinstance(raw, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(type(raw), "a number")
        raise ApiError(400, "invalid_body", f"the request body must be a JSON object of parameters, got {kind}")
    try:
        return parse_params(raw)
    except ParameterError as error:
        raise ApiError(400, "invalid_parameter", error.message, error.field) from None


def _add_error_handlers(app: FastAPI) -> None:
    """Every error as ``{"error": {"code", "message", "field"}}``; never a traceback."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> JSONResponse:
        return error.response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 404:
            message = f"no such endpoint: {request.url.path}; the API is POST {ENDPOINT}"
        elif error.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; use POST"
        else:
            message = str(error.detail)
        code = _STATUS_CODES.get(error.status_code, "http_error")
        return error_response(error.status_code, code, message, headers=getattr(error, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def request_error(request: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(400, "bad_request", "the request cannot be read")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        # The last line of defence: Starlette logs the exception with its traceback after this response.
        return error_response(500, "internal_error", INTERNAL_ERROR_MESSAGE.format(id="unexpected"))


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the request model the endpoint documents but does not parse itself."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, summary=app.summary, description=app.description,
            routes=app.routes,
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        request_schema = InsightsRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        request_schema["examples"] = [TIME_FRAME_EXAMPLE, TOUCH_SCOPE_EXAMPLE]  # in the doc's key order
        schemas["InsightsRequest"] = request_schema
        app.openapi_schema = document
    return app.openapi_schema


def serve(
    db_path: str | Path, host: str = "127.0.0.1", port: int = 8000, *,
    require_auth: bool = True, env_keys: Sequence[str] | None = None,
) -> None:
    """Run the API with uvicorn until interrupted (``insights serve``)."""
    import uvicorn

    from uvicorn.config import LOGGING_CONFIG

    log_config = {**LOGGING_CONFIG, "loggers": {
        **LOGGING_CONFIG["loggers"], "insights": {"handlers": ["default"], "level": "INFO", "propagate": False},
    }}
    app = create_app(db_path, require_auth=require_auth, env_keys=env_keys)
    uvicorn.run(app, host=host, port=port, server_header=False, log_level="info", log_config=log_config)
