"""The ``visionspec`` command line: the only place that turns errors into exit codes and text.

Exit codes: 0 every goal met, 1 at least one goal missed, 2 the suite could not judge.
Each command group lives in its own module and registers its sub-parser here. Only the module of the
command being run is imported: ``visionspec --help`` lists the others by name and help line (``COMMANDS``),
so numpy, onnxruntime and matplotlib load with the command that needs them, not with every start.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from importlib import import_module

from visionspec import __version__
from visionspec.errors import VisionSpecError

# Command modules (``visionspec.cli.<name>``, each with ``register(subparsers)`` that sets ``handler`` on its
# parser) and the help line each registers, in the order ``--help`` lists them; a test checks they agree.
COMMANDS: dict[str, str] = {
    "init": "scaffold a visionspec project in the current folder",
    "run": "run the goals; write Allure results (and the report)",
    "demo": "build the data, judge the reference checkpoints, write the report",
    "report": "make the Allure report: one self-contained HTML file (printed) plus a directory build keeping history",
    "datasets": "list, build, verify and import data sets",
    "evaluate": "COCO evaluation of a results file (agrees with pycocotools), plus counts at a threshold",
    "predict": "run a detector on a data set and write a COCO results file",
    "train": "train a reference model, one checked ONNX checkpoint an epoch",
    "steps": "the step catalogue: every phrase, with an example",
    "checkpoints": "the goals on each checkpoint in order: trend, flip lists",
    "watch": "judge each new checkpoint that appears in a folder",
    "cards": "the model-card reference: every key, type, default and accepted values, per adapter",
    "card": "propose a card for an ONNX file (init), or check a card against its file (check)",
    "serve": "the reference analysis service over HTTP (extra `serve`)",
}

Handler = Callable[[argparse.Namespace], int]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser: every command group registered, or (``command``) only that one.

    With ``command``, the other commands are listed by name and help line without importing their modules.
    """
    parser = argparse.ArgumentParser(
        prog="visionspec",
        description="Executable, plain-language acceptance goals for image-analysis models (ONNX), "
        "reported with Allure. Exit codes: 0 every goal met, 1 a goal missed, 2 the suite could not judge.",
    )
    parser.add_argument("--version", action="version", version=f"visionspec {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_line in COMMANDS.items():
        if command is None or name == command:
            import_module(f"visionspec.cli.{name}").register(subparsers)
        else:
            subparsers.add_parser(name, help=help_line, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    # after "--": passed through unchanged (to pytest, for `run` and `checkpoints`)
    split = arguments.index("--") if "--" in arguments else len(arguments)
    # the first word that is not an option is the command (the top level has only --help and --version)
    command = next((word for word in arguments[:split] if not word.startswith("-")), "")
    parser = build_parser(command)
    args = parser.parse_args(arguments[:split])
    args.passthrough = arguments[split + 1 :]
    handler: Handler = args.handler
    from visionspec.goals.verdict import ExitCode  # after parsing: `--help` stays a light start

    try:
        return handler(args)
    except VisionSpecError as err:
        print(f"visionspec: error: {err}", file=sys.stderr)
        return ExitCode.BROKEN
    except BrokenPipeError:
        # the reader went away (`visionspec steps | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.MET
    except OSError as err:
        # a file that could not be read or written (full or read-only disk) where no command translated it:
        # the suite could not judge (exit 2), never a traceback or exit 1 ("the model got worse")
        where = f"{err.filename}: " if err.filename else ""
        from visionspec.files import write_problem  # here: tempfile and shutil would slow every start

        print(f"visionspec: error: {where}{write_problem(err)}", file=sys.stderr)
        return ExitCode.BROKEN
    except KeyboardInterrupt:
        print("visionspec: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
