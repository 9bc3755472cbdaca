"""The HTTP API's limits: slow clients, long computations and crowds (docs/api.md#limits).

Four kinds of limit keep one server answering whatever its clients do:

* **reading**: a client has ``header_timeout`` seconds to send a complete
  request head (from connecting, or from the end of the previous answer on
  a kept-alive connection) and ``body_timeout`` seconds to send the body;
  otherwise its connection is closed (a head) or answered 408 (a body). An
  idle kept-alive connection is closed after ``keep_alive_timeout``.
  Hundreds of connections that trickle bytes (slow-loris) are thus dropped
  instead of being held forever.
* **computing**: a computation gets ``query_timeout`` seconds; past that its
  DuckDB queries are interrupted and the answer is 503 ``query_timeout``.
* **crowding**: at most ``max_computations`` run at once, each on its own
  worker thread; up to ``max_queued`` more wait, each at most
  ``queue_timeout`` seconds. Beyond that the answer is 503 ``busy`` with a
  ``Retry-After`` estimate. ``/health`` never queues: it runs on the event
  loop's own threads, which computations never use.
* **size**: a body over ``MAX_BODY_BYTES`` is refused with 413 (in ``app``).

Every limit has an ``insights serve`` flag and an environment variable
(:data:`LIMIT_OPTIONS`); the flag wins over the variable, the variable over
the default. This module imports neither FastAPI nor uvicorn at import time,
so the command line can describe the flags without loading them.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any, Callable, Mapping, TypeVar

import duckdb

from ..engines import DuckDBEngine

log = logging.getLogger("insights.api")

T = TypeVar("T")

MAX_BODY_BYTES = 64 * 1024
"""Larger request bodies get 413 (a full request body is a few hundred bytes)."""


@dataclass(frozen=True)
class Limits:
    """Every limit of one server; see the module docstring for what each does."""

    header_timeout: float = 10.0
    body_timeout: float = 10.0
    keep_alive_timeout: float = 5.0
    query_timeout: float = 30.0
    max_computations: int = 4
    max_queued: int = 16
    queue_timeout: float = 10.0

    def __post_init__(self) -> None:
        for option in LIMIT_OPTIONS:
            value = getattr(self, option.name)
            if not option.minimum <= value <= option.maximum:
                raise ValueError(f"{option.name} must be between {option.minimum:g} and {option.maximum:g},"
                                 f" got {value:g}")


@dataclass(frozen=True)
class LimitOption:
    """One limit as the command line and the environment name it."""

    name: str
    flag: str
    environment: str
    kind: type
    minimum: float
    maximum: float
    help: str

    @property
    def default(self) -> Any:
        return next(field.default for field in fields(Limits) if field.name == self.name)

    def parse(self, text: str) -> Any:
        """``text`` as this limit's value; ``ValueError`` with a message naming the limit when it is not one."""
        unit = "a whole number" if self.kind is int else "a number of seconds"
        try:
            value = self.kind(text.strip())
        except ValueError:
            raise ValueError(f"must be {unit}, got {text.strip()[:40]!r}") from None
        if not (self.minimum <= value <= self.maximum) or (self.kind is float and not math.isfinite(value)):
            raise ValueError(f"must be between {self.minimum:g} and {self.maximum:g}, got {text.strip()[:40]}")
        return value


LIMIT_OPTIONS: tuple[LimitOption, ...] = (
    LimitOption("header_timeout", "--header-timeout", "INSIGHTS_API_HEADER_TIMEOUT", float, 0.1, 3600,
                "seconds a client has to send a complete request head; then its connection is closed"),
    LimitOption("body_timeout", "--body-timeout", "INSIGHTS_API_BODY_TIMEOUT", float, 0.1, 3600,
                "seconds a client has to send the request body; then it gets 408"),
    LimitOption("keep_alive_timeout", "--keep-alive-timeout", "INSIGHTS_API_KEEP_ALIVE_TIMEOUT", float, 0.1, 3600,
                "seconds an idle kept-alive connection stays open"),
    LimitOption("query_timeout", "--query-timeout", "INSIGHTS_API_QUERY_TIMEOUT", float, 0.1, 86400,
                "seconds a computation may run; then it is cancelled and answered 503 query_timeout"),
    LimitOption("max_computations", "--max-computations", "INSIGHTS_API_MAX_COMPUTATIONS", int, 1, 256,
                "computations running at once"),
    LimitOption("max_queued", "--max-queued", "INSIGHTS_API_MAX_QUEUED", int, 0, 10_000,
                "computations waiting for a free slot; more get 503 busy"),
    LimitOption("queue_timeout", "--queue-timeout", "INSIGHTS_API_QUEUE_TIMEOUT", float, 0.1, 3600,
                "seconds a computation may wait for a slot; then it gets 503 busy"),
)
"""Each limit's flag, environment variable, range and help: the one place the CLI and the docs read."""


def limits_from(environ: Mapping[str, str], given: Mapping[str, Any] | None = None) -> Limits:
    """The limits: ``given`` values (flags; ``None`` means not given), else ``environ``, else the defaults.

    A bad environment value is a ``ValueError`` naming the variable.
    """
    given = given or {}
    values: dict[str, Any] = {}
    for option in LIMIT_OPTIONS:
        if given.get(option.name) is not None:
            values[option.name] = given[option.name]
        elif environ.get(option.environment, "").strip():
            try:
                values[option.name] = option.parse(environ[option.environment])
            except ValueError as error:
                raise ValueError(f"{option.environment} {error}") from None
    return Limits(**values)


# --- computing and crowding ---------------------------------------------------------------


class Busy(Exception):
    """Every computation slot is taken and the wait queue is full (or the wait was too long)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


class QueryTimeout(Exception):
    """A computation ran past its time limit and was cancelled."""


class Cancelled(Exception):
    """A computation was cancelled before it could start a query (timed out or its client left)."""


class Cancellation:
    """A way to stop a computation's DuckDB queries from another thread.

    A compute function takes its cursors with ``insights_core.cursor(con)``,
    which calls ``con.cursor()``; on a connection from :meth:`track` every
    cursor handed out is remembered, and :meth:`interrupt` interrupts the
    query each one is running (DuckDB's ``interrupt`` acts on one connection
    only, not on the cursors made from it). Once interrupted, no new cursor
    is handed out.
    """

    def __init__(self) -> None:
        self._cursors: list[duckdb.DuckDBPyConnection] = []
        self._scopes: list[Any] = []
        self._lock = threading.Lock()
        self.interrupted = False

    def track(self, connection: duckdb.DuckDBPyConnection) -> DuckDBEngine:
        """An engine over ``connection`` for the compute functions, its cursors under this cancellation."""
        return DuckDBEngine(_TrackedConnection(connection, self))  # type: ignore[arg-type]

    def track_engine(self, engine: Any) -> Any:
        """An engine with ``scope()`` (Spark, docs/scale.md#running-on-spark) as one for this computation only:
        :meth:`interrupt` cancels its queries, not other computations'."""
        scope = engine.scope()
        with self._lock:
            if self.interrupted:
                raise Cancelled("the computation was cancelled")
            self._scopes.append(scope)
        return scope

    def _cursor(self, connection: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self.interrupted:
                raise Cancelled("the computation was cancelled")
            cur = connection.cursor()
            self._cursors.append(cur)
            return cur

    def interrupt(self) -> None:
        """Stop the running queries (from any thread, any number of times)."""
        with self._lock:
            self.interrupted = True
            cursors = list(self._cursors)
            scopes = list(self._scopes)
        for scope in scopes:
            scope.interrupt()
        for cur in cursors:
            try:
                cur.interrupt()
            except duckdb.Error:
                pass  # closed meanwhile

    def close(self) -> None:
        """Close the cursors handed out (the computation is over)."""
        with self._lock:
            cursors, self._cursors = self._cursors, []
        for cur in cursors:
            try:
                cur.close()
            except duckdb.Error:
                pass


class _TrackedConnection:
    """A connection whose ``cursor()`` goes through a :class:`Cancellation`; anything else is the connection's."""

    def __init__(self, connection: duckdb.DuckDBPyConnection, cancellation: Cancellation) -> None:
        self._connection = connection
        self._cancellation = cancellation

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self._cancellation._cursor(self._connection)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


class ComputationGate:
    """At most ``max_computations`` computations at once on their own threads, a bounded queue, a time limit.

    :meth:`run` is awaited on the event loop; the work runs on one of this
    gate's threads, never on the loop's default executor, so cheap requests
    (``/health``, key checks) never wait behind computations. A slot is
    freed only when its thread has really finished, so an interrupted query
    that takes a moment to stop still counts.
    """

    RETRY_AFTER_RANGE = (1, 60)
    INTERRUPT_EVERY = 0.05
    """Seconds between interrupts of a cancelled computation until its thread ends (it may start another query)."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._executor = ThreadPoolExecutor(max_workers=limits.max_computations,
                                            thread_name_prefix="insights-computation",
                                            initializer=_yield_to_the_event_loop)
        self._free = limits.max_computations
        self._waiters: list[asyncio.Future[None]] = []
        self._typical_seconds = 1.0  # running mean of computation times, for Retry-After

    @property
    def running(self) -> int:
        return self.limits.max_computations - self._free

    @property
    def queued(self) -> int:
        return len(self._waiters)

    def retry_after(self) -> int:
        """Seconds until a slot is likely free: the computations ahead, at the typical computation time."""
        rounds = (self.queued + self.running) / self.limits.max_computations
        low, high = self.RETRY_AFTER_RANGE
        return int(min(high, max(low, math.ceil(rounds * self._typical_seconds))))

    async def run(self, work: Callable[[Cancellation], T]) -> T:
        """``work(cancellation)`` on a computation thread, within the limits.

        Raises :class:`Busy` when no slot is free in time, :class:`QueryTimeout`
        when the work runs too long (its queries are interrupted). If the
        awaiting task is cancelled (the client left), the queries are
        interrupted too.
        """
        await self._admit()
        loop = asyncio.get_running_loop()
        cancellation = Cancellation()
        began = self._clock()
        try:
            future = loop.run_in_executor(self._executor, work, cancellation)
        except BaseException:
            self._release()
            raise

        def finished(done: asyncio.Future[Any]) -> None:
            self._typical_seconds = 0.8 * self._typical_seconds + 0.2 * (self._clock() - began)
            self._release()
            if not done.cancelled():
                done.exception()  # retrieved here too: nobody awaits a timed-out or abandoned computation

        future.add_done_callback(finished)
        try:
            async with asyncio.timeout(self.limits.query_timeout):
                return await asyncio.shield(future)
        except TimeoutError:
            self._keep_interrupting(loop, cancellation, future)
            raise QueryTimeout(f"the computation ran past {self.limits.query_timeout:g} s") from None
        except asyncio.CancelledError:
            self._keep_interrupting(loop, cancellation, future)
            raise

    def _keep_interrupting(self, loop: asyncio.AbstractEventLoop, cancellation: Cancellation,
                           future: asyncio.Future[Any]) -> None:
        if not future.done():
            cancellation.interrupt()
            loop.call_later(self.INTERRUPT_EVERY, self._keep_interrupting, loop, cancellation, future)

    async def _admit(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        if len(self._waiters) >= self.limits.max_queued:
            raise Busy(self.retry_after())
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self.limits.queue_timeout):
                await waiter
        except BaseException as error:
            if waiter.done() and not waiter.cancelled():
                self._release()  # handed a slot just as we gave up: pass it on
            else:
                waiter.cancel()
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            if isinstance(error, TimeoutError):
                raise Busy(self.retry_after()) from None
            raise

    def _release(self) -> None:
        while self._waiters:
            waiter = self._waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)  # the slot passes straight to the next in line
                return
        self._free += 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


COMPUTATION_NICENESS = 5
"""How much lower computation threads run than the event loop (Linux schedules each thread on its own)."""


def _yield_to_the_event_loop() -> None:
    """Lower this computation thread's scheduling priority, so the event loop (``/health``, refusals) runs first.

    On Linux ``setpriority`` on the calling thread's id changes that thread
    alone; elsewhere, or where it is not allowed, nothing changes.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), COMPUTATION_NICENESS)
    except (AttributeError, OSError):
        pass


# --- reading ----------------------------------------------------------------------------------


def http_protocol(limits: Limits) -> type:
    """uvicorn's h11 protocol with a deadline for each request head (see the module docstring).

    uvicorn closes a kept-alive connection that stays silent, but not one
    that is silent from the start, nor one that trickles a head byte by
    byte; this protocol closes any connection that has not completed a
    request head within ``header_timeout`` of connecting or of the previous
    answer. It also answers an unreadable request (a head over 16 KiB, bad
    syntax) with a JSON error like every other error.
    """
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    timeout = limits.header_timeout

    class DeadlineH11Protocol(H11Protocol):
        _head_deadline: asyncio.TimerHandle | None = None
        _waiting_after: object = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_head_deadline()

        def handle_events(self) -> None:
            super().handle_events()
            if self._head_deadline is not None and self.cycle is not self._waiting_after:
                self._disarm_head_deadline()  # a request head arrived

        def on_response_complete(self) -> None:
            if not self.transport.is_closing():
                self._arm_head_deadline()  # before: the next, pipelined request may start inside
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_head_deadline()
            super().connection_lost(exc)

        def _arm_head_deadline(self) -> None:
            self._disarm_head_deadline()
            self._waiting_after = self.cycle
            self._head_deadline = self.loop.call_later(timeout, self._head_timed_out)

        def _disarm_head_deadline(self) -> None:
            if self._head_deadline is not None:
                self._head_deadline.cancel()
                self._head_deadline = None

        def _head_timed_out(self) -> None:
            self._head_deadline = None
            if self.cycle is self._waiting_after and not self.transport.is_closing():
                client = "%s:%d" % self.client if self.client else "a client"
                log.info("closed the connection from %s: no complete request within %g s", client, timeout)
                self.transport.close()

        def send_400_response(self, msg: str) -> None:
            body = (b'{"error": {"code": "bad_request", "message": "invalid HTTP request: the request line or'
                    b' headers cannot be read (at most 16 KiB of headers)", "field": null}}')
            headers = [(b"content-type", b"application/json"), (b"connection", b"close"),
                       (b"content-length", str(len(body)).encode())]
            try:
                for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                              h11.Data(data=body), h11.EndOfMessage()):
                    self.transport.write(self.conn.send(event))
            except h11.LocalProtocolError:
                pass  # too broken to answer at all
            self.transport.close()

    return DeadlineH11Protocol
