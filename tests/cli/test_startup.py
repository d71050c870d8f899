"""The command line starts without the heavy libraries: only the command being run imports its module."""

from __future__ import annotations

import subprocess
import sys

import pytest

from visionspec.cli import COMMANDS, build_parser, main

HEAVY = ("numpy", "onnxruntime", "matplotlib", "PIL", "yaml", "visionspec.runtime", "visionspec.checkpoints")


def imported_by(arguments: list[str]) -> list[str]:
    """The heavy modules a new process has imported after ``visionspec ARGUMENTS``."""
    script = (
        "import sys\nfrom visionspec.cli import main\n"
        f"try:\n    main({arguments!r})\nexcept SystemExit:\n    pass\n"
        f"print('imported:' + ','.join(name for name in {HEAVY!r} if name in sys.modules))"
    )
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return [name for name in found.stdout.rsplit("imported:", 1)[1].strip().split(",") if name]


def test_help_and_version_import_no_heavy_library() -> None:
    assert imported_by(["--help"]) == []
    assert imported_by(["--version"]) == []


def test_a_command_imports_what_it_needs() -> None:
    assert {"numpy", "onnxruntime", "visionspec.runtime"} <= set(imported_by(["predict", "--help"]))


def test_the_help_lines_are_those_the_command_modules_register(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["--help"])
    assert stopped.value.code == 0
    assert capsys.readouterr().out == build_parser().format_help()  # every module imported: the same text
    assert list(COMMANDS) == [action.dest for action in build_parser()._subparsers._group_actions[0]._choices_actions]


def test_an_unknown_command_is_refused_as_before(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["nonsense"])
    assert stopped.value.code == 2
    assert "invalid choice: 'nonsense'" in capsys.readouterr().err
