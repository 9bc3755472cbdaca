"""A real ``insights serve`` on a free loopback port, for the HTTP API tests.

The server runs as a subprocess of the installed code (``python -m
insights_core.cli serve``), its output captured in a log file that failures
show. :meth:`ApiServer.start` polls ``/health`` until the server answers
instead of sleeping.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import httpx

from support import free_port


def insights_command(*args: str) -> list[str]:
    """The ``insights`` command line, run by this interpreter."""
    return [sys.executable, "-m", "insights_core.cli", *args]


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without API keys, plus ``extra``."""
    env = {name: value for name, value in os.environ.items() if name != "INSIGHTS_API_KEYS"}
    env.update(extra)
    return env


@dataclass
class ApiServer:
    """One ``insights serve`` subprocess."""

    db: Path
    log_path: Path
    options: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=clean_env)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, timeout: float = 30.0) -> ApiServer:
        command = insights_command("serve", "--db", str(self.db), "--port", str(self.port), *self.options)
        with open(self.log_path, "wb") as log_file:
            self.process = subprocess.Popen(
                command, stdout=log_file, stderr=subprocess.STDOUT, env=dict(self.env), start_new_session=True,
            )
        self._wait_until_ready(timeout)
        return self

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server not ready after {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        """Graceful shutdown (SIGTERM), then SIGKILL if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> ApiServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def limit_test_endpoints() -> list:
    """The endpoints of a :class:`ChildServer`: ``/api/v1/insights`` and ``/api/v1/heavy``.

    ``/api/v1/heavy`` runs a DuckDB query that takes minutes unless it is
    interrupted (a cross join over 10^12 rows), so the limits have something
    to limit.
    """
    from insights_core.api.app import INSIGHTS, Endpoint
    from insights_core.api.schema import InsightsRequest
    from insights_core.engines import Query

    def heavy(engine, params) -> dict:
        rows = engine.rows(Query("SELECT count(*) AS count FROM range(1000000) a, range(1000000) b"
                                 " WHERE a.range + b.range = -1", {}))
        return {"count": rows[0]["count"]}

    return [INSIGHTS, Endpoint(path="/api/v1/heavy", summary="test", description="test", parse=lambda raw: raw,
                               compute=heavy, request_model=InsightsRequest, response_model=dict)]


def run_child(db: str, port: int, limits_json: str) -> None:
    """The body of a :class:`ChildServer` process: the test endpoints, served as ``insights serve`` serves."""
    import json as json_module

    import uvicorn
    from uvicorn.config import LOGGING_CONFIG

    from insights_core.api.app import create_app, uvicorn_config
    from insights_core.api.limits import Limits

    limits = Limits(**json_module.loads(limits_json))
    log_config = {**LOGGING_CONFIG, "loggers": {
        **LOGGING_CONFIG["loggers"], "insights": {"handlers": ["default"], "level": "INFO", "propagate": False},
    }}
    app = create_app(db, require_auth=False, env_keys=[], limits=limits, endpoints=limit_test_endpoints())
    uvicorn.Server(uvicorn_config(app, "127.0.0.1", port, limits, log_config=log_config)).run()


@dataclass
class ChildServer(ApiServer):
    """A real uvicorn in its own process serving :func:`limit_test_endpoints` under the given limits.

    Its own process, so that the test's client threads never share an
    interpreter lock with the server they measure.
    """

    limits: Mapping[str, float] = field(default_factory=dict)

    def start(self, timeout: float = 30.0) -> ChildServer:
        import json as json_module

        tests = str(Path(__file__).resolve().parent)
        code = (f"import sys; sys.path.insert(0, {tests!r}); import api_server;"
                f" api_server.run_child({str(self.db)!r}, {self.port}, {json_module.dumps(dict(self.limits))!r})")
        with open(self.log_path, "wb") as log_file:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code], stdout=log_file, stderr=subprocess.STDOUT, env=dict(self.env),
                start_new_session=True,
            )
        self._wait_until_ready(timeout)
        return self
