"""``visionspec watch DIR``: judge each new checkpoint as a training loop drops it into DIR.

A file is judged only once it is whole:

- only ``*.onnx`` names count, so a loop that writes ``epoch-05.onnx.tmp`` (or ``.part``) and renames it
  into place is never read half-written;
- a file that appears already finished (renamed or moved in: it was not there at the previous look, yet
  its modification time is older than that look) is judged at once;
- any other file is judged once its size and modification time have not changed for ``--settle``
  seconds (a file written in place, chunk by chunk); at the watch's first look, a file last written
  ``--settle`` seconds ago or more counts as settled.

Each checkpoint is judged like one of ``visionspec checkpoints`` (same options, the results in
``RESULTS/<checkpoint>/``, the trend in ``RESULTS/trend.json``, the report after each); its baseline is
the checkpoint judged before it. What was judged is keyed by content: ``RESULTS/<checkpoint>/judged.json``
holds the SHA-256 of the file as it was judged. A checkpoint judged already with the same content is not
judged again, and the trend continues from it; a file whose content changed since (a writer that paused
longer than ``--settle`` and then finished it) is judged again once it settles, replacing its earlier
results. RESULTS is held (locked) for the whole watch. ``--once`` stops when nothing is left to judge,
``--timeout`` after that many seconds; otherwise the watch runs until interrupted. Exit code: as
``checkpoints``, over the checkpoints judged by this watch (0 when none).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visionspec.checkpoints import (
    CheckpointOutcome,
    judge_sequence,
    load_outcome,
    natural_key,
    plan_sequence,
)
from visionspec.cli.checkpoints import SequenceRunner, add_sequence_options, judged_sha256
from visionspec.cli.run import add_run_options
from visionspec.errors import VisionSpecError
from visionspec.runtime.session import file_sha256

DEFAULT_SETTLE_S = 10.0
DEFAULT_INTERVAL_S = 2.0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("watch", help="judge each new checkpoint that appears in a folder")
    parser.add_argument("folder", type=Path, metavar="DIR", help="the folder the training loop writes ONNX files to")
    parser.add_argument("--settle", type=float, default=DEFAULT_SETTLE_S, metavar="S",
                        help=f"judge a file once unchanged for S seconds (default {DEFAULT_SETTLE_S:g})")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_S, metavar="S",
                        help=f"look at the folder every S seconds (default {DEFAULT_INTERVAL_S:g})")
    parser.add_argument("--once", action="store_true", help="stop once every file in DIR is judged")
    parser.add_argument("--timeout", type=float, metavar="S", help="stop after S seconds")
    add_run_options(parser)
    add_sequence_options(parser)
    parser.set_defaults(handler=watch_command)


@dataclass
class SettledFiles:
    """Which files of a folder are whole, from what successive looks at them showed.

    Attributes:
        settle_s: how long a file's size and modification time must stay unchanged.
    """

    settle_s: float
    _seen: dict[Path, tuple[int, int, float]] = field(default_factory=dict)
    """Per file: size, modification time (ns), and when that pair was first seen."""
    _last_look: float | None = None

    def look(self, stats: Iterable[tuple[Path, os.stat_result]], now: float) -> list[Path]:
        """Record one look at the folder (each file with its ``stat``); return the files that are whole now.

        Args:
            stats: every candidate file and its current ``os.stat`` result.
            now: the time of this look, on the clock of the files' modification times (``time.time()``).
        """
        ready, current = [], {}
        for path, stat in stats:
            signature = (stat.st_size, stat.st_mtime_ns)
            previous = self._seen.get(path)
            since = previous[2] if previous is not None and previous[:2] == signature else now
            current[path] = (*signature, since)
            if previous is None and self._last_look is None:
                since = min(since, stat.st_mtime)  # the first look: a file untouched for settle_s is whole
            moved_in = previous is None and self._last_look is not None and stat.st_mtime < self._last_look
            if moved_in or now - since >= self.settle_s:
                ready.append(path)
        self._seen, self._last_look = current, now
        return ready


Signature = tuple[int, int]
"""A file's size and modification time (ns): when it is unchanged, so is the content it was hashed with."""


def _stats(folder: Path) -> list[tuple[Path, os.stat_result]]:
    """The ``*.onnx`` files of ``folder``, in natural order, with their ``stat`` (gone ones left out)."""
    found = []
    for path in sorted(folder.glob("*.onnx"), key=natural_key):
        try:
            found.append((path, path.stat()))
        except FileNotFoundError:
            continue  # renamed or deleted between the listing and the stat
    return found


def _earlier_outcomes(results: Path, folder: Path) -> list[CheckpointOutcome]:
    """Checkpoints of ``folder`` already judged into ``results``, in trend order."""
    if not results.is_dir():
        return []
    outcomes = [load_outcome(child) for child in results.iterdir() if child.is_dir()]
    mine = [o for o in outcomes if o is not None and o.checkpoint.path.resolve().parent == folder.resolve()]
    return sorted(mine, key=lambda outcome: (outcome.checkpoint.build_order, natural_key(outcome.checkpoint.path)))


def watch_command(args: argparse.Namespace, *, clock: Callable[[], float] = time.time,
                  sleep: Callable[[float], None] = time.sleep) -> int:
    if not args.folder.is_dir():
        raise VisionSpecError(f"{args.folder}: no such folder to watch; fix: create it or give the training output")
    if args.settle < 0 or args.interval <= 0:
        raise VisionSpecError(f"--settle must be >= 0 and --interval > 0, got {args.settle} and {args.interval}")
    runner = SequenceRunner(args, prefix="visionspec watch")
    with runner.held(args.results, clean_first=False):
        watch = _Watch(args, runner, _earlier_outcomes(args.results, args.folder))
        deadline = None if args.timeout is None else clock() + args.timeout
        print(f"visionspec watch: watching {args.folder} ({len(watch.judged)} checkpoint(s) judged before)",
              flush=True)
        while True:
            pending = watch.look(clock())
            if (args.once and not pending) or (deadline is not None and clock() >= deadline):
                break
            sleep(args.interval if deadline is None else max(0.0, min(args.interval, deadline - clock())))
        if pending:
            print(f"visionspec watch: not judged, still being written: {', '.join(p.name for p in pending)}",
                  flush=True)
        return runner.finish(watch.outcomes, judged=len(watch.judged_now))


class _Watch:
    """The state of one watch: what was judged (by content), and the files seen so far."""

    def __init__(self, args: argparse.Namespace, runner: SequenceRunner, earlier: list[CheckpointOutcome]) -> None:
        self.args = args
        self.runner = runner
        self.outcomes = earlier
        self.judged: dict[str, str | None] = {
            outcome.checkpoint.name: judged_sha256(args.results / outcome.checkpoint.name) for outcome in earlier
        }
        """Checkpoint name to the SHA-256 of the content judged (None: judged before hashes were recorded)."""
        self.judged_now: set[str] = set()
        self.settled = SettledFiles(args.settle)
        self._unchanged: dict[str, Signature] = {}
        """Per judged name, the signature its file had when its content was last found to be the judged one."""

    def look(self, now: float) -> list[Path]:
        """Judge every file that is whole now and not judged with this content, in natural order; return the
        files still pending."""
        stats = dict(_stats(self.args.folder))
        for path in self.settled.look(stats.items(), now):
            signature = (stats[path].st_size, stats[path].st_mtime_ns)
            sha256 = self._new_content(path, signature)
            if sha256 is not None:
                self._judge(path, sha256)
                self._unchanged[path.stem] = signature
        return [path for path, stat in _stats(self.args.folder)
                if self._unchanged.get(path.stem) != (stat.st_size, stat.st_mtime_ns) and path.stem not in self._old()]

    def _old(self) -> set[str]:
        """Names judged before hashes were recorded: kept as judged (by name), as earlier watches did."""
        return {name for name, digest in self.judged.items() if digest is None}

    def _new_content(self, path: Path, signature: Signature) -> str | None:
        """The file's SHA-256 when it has not been judged with this content, else None."""
        name = path.stem
        if name in self._old() or self._unchanged.get(name) == signature:
            return None
        try:
            sha256 = file_sha256(path)
        except OSError:
            return None  # renamed or deleted since the look: the next look sees what is there
        if self.judged.get(name) == sha256:
            self._unchanged[name] = signature
            return None
        return sha256

    def _judge(self, path: Path, sha256: str) -> None:
        """Judge ``path`` (its content ``sha256``), replacing an earlier outcome of the same checkpoint."""
        earlier = [outcome for outcome in self.outcomes if outcome.checkpoint.name != path.stem]
        plan = plan_sequence([path], baseline=self.args.baseline, earlier=[o.checkpoint for o in earlier])
        self.runner.check(plan)
        self.outcomes = judge_sequence(
            plan, lambda checkpoint, folder: self.runner.judge(checkpoint, folder, sha256=sha256),
            self.args.results, earlier=earlier,
            on_judged=lambda outcome, so_far: self.runner.after_each(outcome, so_far, last=True),
        )
        self.judged[path.stem] = sha256
        self.judged_now.add(path.stem)
