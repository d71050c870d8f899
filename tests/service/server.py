"""The real reference service on 127.0.0.1, in a subprocess, for the tests (no mocks)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpcore  # noqa: F401 - see below
import httpx

# pytester's in-process runs drop the modules first imported inside them, but httpx keeps the httpcore exception
# classes it mapped on first use: imported here, httpcore stays the same module for every run of a test session

# `visionspec serve`'s own app, stopped by uvicorn after N requests (a service that dies mid-run)
_LIMITED = """
import sys, uvicorn
from visionspec.cli import build_parser
from visionspec.cli.serve import build_analyser
from visionspec.service.app import create_app
args = build_parser("serve").parse_args(["serve", *sys.argv[2:]])
uvicorn.run(create_app(build_analyser(args)), host="127.0.0.1", port=args.port, limit_max_requests=int(sys.argv[1]))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    """A running service: its address, process and log."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def analyse_requests(self) -> int:
        """POST /v1/analyse requests answered so far (uvicorn's access log)."""
        return self.log.read_text(encoding="utf-8", errors="replace").count("POST /v1/analyse")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=30)


@contextlib.contextmanager
def serving(project: Path, *options: str, max_requests: int | None = None) -> Iterator[Server]:
    """``visionspec serve`` on a free port of 127.0.0.1 with the project's models, until the block ends."""
    port = free_port()
    log = project / f"serve-{port}.log"
    arguments: Sequence[str] = ["--port", str(port), "--models", str(project / "models"), "--device", "cpu", *options]
    command = ([sys.executable, "-c", _LIMITED, str(max_requests), *arguments] if max_requests
               else [sys.executable, "-m", "visionspec", "serve", *arguments])
    env = {**os.environ, "OMP_NUM_THREADS": "1", "VISIONSPEC_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=project, stdout=output, stderr=subprocess.STDOUT, env=env)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_up(server)
        yield server
    finally:
        server.stop()


def _wait_until_up(server: Server, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the service exited: {server.log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{server.url}/v1/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the service did not come up: {server.log.read_text(errors='replace')}")
