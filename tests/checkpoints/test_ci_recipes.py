"""The CI recipes: the script both call turns exit codes into messages and calls a valid command line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from visionspec.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "ci" / "judge-checkpoint.sh"
BASH = shutil.which("bash")


def _run_script(tmp_path: Path, exit_code: int, *arguments: str, report: str | None = None) -> tuple[int, str, str]:
    """Run the script with a stand-in ``visionspec`` that records its arguments and exits with ``exit_code``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "visionspec"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/arguments"\nexit {exit_code}\n', encoding="utf-8")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    if report is not None:
        env["REPORT"] = report
    assert BASH is not None
    done = subprocess.run([BASH, str(SCRIPT), *arguments], capture_output=True, text=True, env=env, check=False,
                          cwd=tmp_path, timeout=60)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.skipif(BASH is None, reason="needs bash")
@pytest.mark.parametrize(
    ("visionspec_code", "script_code", "stream", "message"),
    [
        (0, 0, "out", "visionspec: new.onnx meets every goal"),
        (1, 1, "err", "visionspec: new.onnx MISSES goals: the model is not good enough (see the report)"),
        (2, 2, "err", "visionspec: the goals could not be judged on new.onnx: broken data, model or step "
                      "(exit 2; see the report)"),
        (4, 2, "err", "visionspec: the goals could not be judged on new.onnx: broken data, model or step "
                      "(exit 4; see the report)"),
    ],
)
def test_the_script_tells_a_worse_model_from_a_broken_suite(
    tmp_path: Path, visionspec_code: int, script_code: int, stream: str, message: str
) -> None:
    code, out, err = _run_script(tmp_path, visionspec_code, "new.onnx", "promoted.onnx")
    assert code == script_code
    assert (out if stream == "out" else err).strip() == message


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_the_script_calls_a_command_line_visionspec_accepts(tmp_path: Path) -> None:
    _run_script(tmp_path, 0, "models/balloon-detector/checkpoints/epoch-12.onnx", "epoch 11.onnx")
    arguments = (tmp_path / "arguments").read_text(encoding="utf-8").splitlines()
    args = build_parser().parse_args(arguments)
    assert args.command == "checkpoints"
    assert [str(p) for p in args.checkpoints] == ["models/balloon-detector/checkpoints/epoch-12.onnx"]
    assert (args.baseline, args.results, args.report) == (Path("epoch 11.onnx"), Path("results"), Path("report"))
    assert (args.junit, args.cucumber_json) == (Path("results/junit.xml"), Path("results/cucumber.json"))
    # no promoted checkpoint, no report: neither option is passed
    _run_script(tmp_path, 0, "new.onnx", "", report="")
    bare = build_parser().parse_args((tmp_path / "arguments").read_text(encoding="utf-8").splitlines())
    assert (bare.baseline, bare.report) == (None, None)


def test_both_recipes_call_the_script_and_keep_report_and_junit() -> None:
    github = yaml.safe_load((ROOT / "docs" / "ci" / "github-actions.yml").read_text(encoding="utf-8"))
    steps = github["jobs"]["judge"]["steps"]
    runs = "\n".join(step.get("run", "") for step in steps)
    assert "bash docs/ci/judge-checkpoint.sh" in runs
    uploaded = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact"))
    assert uploaded["if"] == "always()"
    assert {"report/visionspec-report.html", "results/junit.xml"} <= set(uploaded["with"]["path"].split())
    gitlab = yaml.safe_load((ROOT / "docs" / "ci" / "gitlab-ci.yml").read_text(encoding="utf-8"))["judge-checkpoint"]
    assert any("bash docs/ci/judge-checkpoint.sh" in line for line in gitlab["script"])
    assert gitlab["artifacts"]["reports"]["junit"] == "results/junit.xml"
    assert "report/visionspec-report.html" in gitlab["artifacts"]["paths"]


@pytest.mark.slow
@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_the_script_judges_a_real_checkpoint(tmp_path: Path) -> None:
    from tests.checkpoints.checkpoint_world import write_project

    checkpoints = write_project(tmp_path)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "REPORT": "", "VISIONSPEC_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([BASH or "bash", str(SCRIPT), str(checkpoints / "epoch-2.onnx"),
                           str(checkpoints / "epoch-1.onnx")], capture_output=True, text=True, env=env,
                          cwd=tmp_path, check=False, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.strip().endswith("epoch-2.onnx MISSES goals: the model is not good enough (see the report)")
    assert 'name="Recall does not drop"' in (tmp_path / "results" / "junit.xml").read_text(encoding="utf-8")


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_the_decision_is_printed_outside_a_pull_request_and_both_recipes_post_it(tmp_path: Path) -> None:
    decision = tmp_path / "decision.md"
    decision.write_text("# Decision: ship epoch-22?\n\n**ship it**\n", encoding="utf-8")
    env = {key: value for key, value in os.environ.items()
           if key not in ("GITHUB_ACTIONS", "GITLAB_CI", "PR_NUMBER", "CI_MERGE_REQUEST_IID")}
    assert BASH is not None
    done = subprocess.run([BASH, str(ROOT / "docs" / "ci" / "post-decision.sh"), str(decision)], capture_output=True,
                          text=True, env=env, check=False, timeout=60)
    assert (done.returncode, done.stdout) == (0, decision.read_text(encoding="utf-8"))
    for recipe in ("github-actions.yml", "gitlab-ci.yml"):
        assert "bash docs/ci/post-decision.sh results/decision.md" in (ROOT / "docs" / "ci" / recipe).read_text(
            encoding="utf-8")
