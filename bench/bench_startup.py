"""Start-up cost of the command line: ``visionspec --help`` against a bare ``python -c pass``.

Both run as new processes with the same interpreter, interleaved round by round (a noisy machine slows
both alike); the figure is the ratio of the medians. The goal is at most 3x. ``--command`` times another
command line (``--command predict --help``). With ``--imports`` it also lists the heaviest modules
``visionspec --help`` imports (``python -X importtime``).

    .venv/bin/python bench/bench_startup.py
    .venv/bin/python bench/bench_startup.py --rounds 40 --imports
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("visionspec")


def elapsed(command: list[str]) -> float:
    """Wall-clock seconds of one run (its output discarded)."""
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def heaviest_imports(command: list[str], count: int) -> list[tuple[int, str]]:
    """The ``count`` top-level imports that took longest (cumulative microseconds, module)."""
    found = subprocess.run([sys.executable, "-X", "importtime", *command], capture_output=True, text=True,
                           env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}, check=False)
    rows = []
    for line in found.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith("   "):
            rows.append((int(parts[1]), parts[2].strip()))
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--command", nargs=argparse.REMAINDER, default=["--help"],
                        help="the visionspec arguments to time (default: --help)")
    parser.add_argument("--imports", action="store_true", help="also list the 12 heaviest top-level imports")
    args = parser.parse_args()
    bare = [sys.executable, "-c", "pass"]
    tool = [str(SCRIPT), *args.command]
    elapsed(bare), elapsed(tool)  # warm the file cache
    times: dict[str, list[float]] = {"bare": [], "tool": []}
    for _ in range(args.rounds):
        times["bare"].append(elapsed(bare))
        times["tool"].append(elapsed(tool))
    bare_s, tool_s = statistics.median(times["bare"]), statistics.median(times["tool"])
    print(f"python -c pass: median {bare_s * 1000:.1f} ms; visionspec {' '.join(args.command)}: median "
          f"{tool_s * 1000:.1f} ms ({args.rounds} rounds, interleaved); ratio {tool_s / bare_s:.2f}x "
          "(goal: at most 3x)")
    if args.imports:
        script = ["-c", f"import sys; sys.argv = ['visionspec', *{args.command!r}]; from visionspec.cli import main; "
                        "raise SystemExit(main())"]
        for microseconds, module in heaviest_imports(script, 12):
            print(f"  {microseconds / 1000:7.1f} ms  {module}")


if __name__ == "__main__":
    main()
