"""``visionspec serve`` in a child process for the length of a block (the demo judges it, then stops it)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx

from visionspec.errors import ServiceError
from visionspec.service.contract import HEALTH_PATH


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on at ``host`` right now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def background_service(models: Path, *, host: str = "127.0.0.1", startup_s: float = 120.0) -> Iterator[str]:
    """Serve the newest checkpoints of ``models`` on a free port of ``host``; yield the address; stop it after.

    Raises:
        ServiceError: the service exited or did not answer ``/v1/health`` within ``startup_s`` (its log's end
            is in the message).

    Example:
        >>> with background_service(Path("models")) as url:  # doctest: +SKIP
        ...     httpx.get(f"{url}/v1/health").json()
        {'status': 'ok'}
    """
    port = free_port(host)
    url = f"http://{host}:{port}"
    command = [sys.executable, "-m", "visionspec", "serve", "--host", host, "--port", str(port), "--models",
               str(models)]
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
        try:
            _wait_for_health(url, process, log, startup_s)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


def _wait_for_health(url: str, process: subprocess.Popen[bytes], log: IO[bytes], startup_s: float) -> None:
    deadline = time.monotonic() + startup_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceError(f"visionspec serve exited with status {process.returncode} before answering: "
                               f"{_tail(log)}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}{HEALTH_PATH}", timeout=2.0).status_code == 200:
                return
        time.sleep(0.2)
    raise ServiceError(f"visionspec serve did not answer {url}{HEALTH_PATH} within {startup_s:.0f} s: {_tail(log)}")


def _tail(log: IO[bytes]) -> str:
    """The last lines of the child's log."""
    log.seek(0)
    text = log.read().decode("utf-8", errors="replace")
    return " | ".join(text.strip().splitlines()[-3:]) or "(no output)"
