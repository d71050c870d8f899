"""The ``visionspec`` command line: the only place that turns errors into exit codes and text.

Exit codes: 0 every goal met, 1 at least one goal missed, 2 the suite could not judge.
Each command group lives in its own module and registers its sub-parser here.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from visionspec import __version__
from visionspec.errors import VisionSpecError
from visionspec.files import write_problem

EXIT_OK = 0
EXIT_GOAL_MISSED = 1
EXIT_BROKEN = 2

# Command modules, each with ``register(subparsers)`` that sets ``handler`` on its parser.
_COMMAND_MODULES = (
    "run", "demo", "report", "datasets", "evaluate", "predict", "train", "steps", "checkpoints", "watch"
)

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="visionspec",
        description="Executable, plain-language acceptance goals for image-analysis models (ONNX), "
        "reported with Allure. Exit codes: 0 every goal met, 1 a goal missed, 2 the suite could not judge.",
    )
    parser.add_argument("--version", action="version", version=f"visionspec {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in _COMMAND_MODULES:
        import_module(f"visionspec.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    # after "--": passed through unchanged (to pytest, for `run` and `checkpoints`)
    split = arguments.index("--") if "--" in arguments else len(arguments)
    args = parser.parse_args(arguments[:split])
    args.passthrough = arguments[split + 1 :]
    handler: Handler = args.handler
    try:
        return handler(args)
    except VisionSpecError as err:
        print(f"visionspec: error: {err}", file=sys.stderr)
        return EXIT_BROKEN
    except BrokenPipeError:
        # the reader went away (`visionspec steps | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except OSError as err:
        # a file that could not be read or written (full or read-only disk) where no command translated it:
        # the suite could not judge (exit 2), never a traceback or exit 1 ("the model got worse")
        where = f"{err.filename}: " if err.filename else ""
        print(f"visionspec: error: {where}{write_problem(err)}", file=sys.stderr)
        return EXIT_BROKEN
    except KeyboardInterrupt:
        print("visionspec: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
