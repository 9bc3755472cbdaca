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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1.0).status_code == 200:
                    return self
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
