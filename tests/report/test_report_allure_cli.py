"""Locating and installing Allure, generating both reports, and the clear errors when tools are missing.

A fake ``allure`` launcher stands in for the real one here (fast, no Java); the real one runs in
test_report_allure_e2e.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import stat
from pathlib import Path

import pytest

from visionspec.cli import report as report_cli
from visionspec.errors import ReportError
from visionspec.report.allure_cli import (
    ALLURE_VERSION,
    allure_executable,
    carry_history,
    ensure_allure,
    find_java,
    generate,
    install_allure,
    installed_version,
)

FAKE_ALLURE = """#!/bin/sh
# Records its arguments and analytics setting, then writes index.html into the -o folder.
echo "$ALLURE_NO_ANALYTICS $*" >> "{log}"
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "-o" ]; then out="$2"; shift; fi
  shift
done
[ -n "{fail}" ] && {{ echo "Could not read results: boom" >&2; exit 3; }}
/bin/mkdir -p "$out/history"
echo '<html>report</html>' > "$out/index.html"
echo '[]' > "$out/history/history-trend.json"
"""


def _executable(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def bare_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH with only the folder returned (empty): no java, no npm; JAVA_HOME unset."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    return folder


def _fake_tools(tmp_path: Path, *, fail: bool = False, version: str = ALLURE_VERSION) -> tuple[Path, Path]:
    tools = tmp_path / "tools"
    log = tmp_path / "allure.log"
    _executable(allure_executable(tools), FAKE_ALLURE.format(log=log, fail="yes" if fail else ""))
    manifest = tools / "node_modules" / "allure-commandline" / "package.json"
    manifest.write_text(json.dumps({"name": "allure-commandline", "version": version}), encoding="utf-8")
    return tools, log


def _results(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "0a-result.json").write_text("{}", encoding="utf-8")
    return folder


def test_missing_java_is_a_clear_error(bare_path: Path) -> None:
    with pytest.raises(ReportError) as raised:
        find_java()
    assert str(raised.value).startswith("Java was not found (no `java` on PATH and no JAVA_HOME): Allure 2 needs "
                                        "Java 8 or newer")
    assert "apt-get install default-jre-headless" in str(raised.value)


def test_java_home_is_used_when_set(tmp_path: Path, bare_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    java = _executable(tmp_path / "jdk" / "bin" / "java", "#!/bin/sh\n")
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "jdk"))
    assert find_java() == java


def test_missing_npm_is_a_clear_error_when_allure_is_not_installed(tmp_path: Path, bare_path: Path) -> None:
    _executable(bare_path / "java", "#!/bin/sh\n")
    with pytest.raises(ReportError) as raised:
        ensure_allure(tmp_path / "tools")
    message = str(raised.value)
    assert message.startswith(f"npm was not found on PATH: it is needed once, to install Allure {ALLURE_VERSION} into")
    assert f"npm install --prefix {tmp_path / 'tools'} allure-commandline@{ALLURE_VERSION}" in message


def test_missing_java_is_reported_before_any_install(tmp_path: Path, bare_path: Path) -> None:
    with pytest.raises(ReportError, match=r"^Java was not found"):
        ensure_allure(tmp_path / "tools")


def test_an_installed_allure_needs_no_npm(tmp_path: Path, bare_path: Path) -> None:
    _executable(bare_path / "java", "#!/bin/sh\n")
    tools, _ = _fake_tools(tmp_path)
    assert installed_version(tools) == ALLURE_VERSION
    assert ensure_allure(tools) == allure_executable(tools)


def test_another_version_is_replaced_by_an_install(tmp_path: Path, bare_path: Path) -> None:
    _executable(bare_path / "java", "#!/bin/sh\n")
    tools, _ = _fake_tools(tmp_path, version="2.30.0")
    npm_log = tmp_path / "npm.log"
    _executable(bare_path / "npm", f'#!/bin/sh\necho "$*" > "{npm_log}"\n')

    ensure_allure(tools)

    assert npm_log.read_text(encoding="utf-8").split() == [
        "install", "--prefix", str(tools), "--no-audit", "--no-fund", "--loglevel=error",
        f"allure-commandline@{ALLURE_VERSION}"]


def test_a_failed_npm_install_carries_npm_output(tmp_path: Path, bare_path: Path) -> None:
    _executable(bare_path / "npm", "#!/bin/sh\necho 'npm error code E404' >&2\nexit 1\n")
    with pytest.raises(ReportError) as raised:
        install_allure(tmp_path / "tools")
    assert "installing Allure 2.46.1 with npm into" in str(raised.value)
    assert "failed with exit code 1" in str(raised.value)
    assert str(raised.value).endswith("npm error code E404")


def test_generate_makes_the_site_and_the_single_file(tmp_path: Path, bare_path: Path) -> None:
    _executable(bare_path / "java", "#!/bin/sh\n")
    tools, log = _fake_tools(tmp_path)
    results = _results(tmp_path / "results")

    single = generate(results, tmp_path / "out", tools_dir=tools, report_name="demo")

    assert single == tmp_path / "out" / "visionspec-report.html"
    assert single.read_text(encoding="utf-8") == "<html>report</html>\n"
    assert (tmp_path / "out" / "site" / "index.html").is_file()
    assert not (tmp_path / "out" / ".single-file").exists()
    calls = log.read_text(encoding="utf-8").splitlines()
    assert calls == [
        f"true generate --clean --name demo -o {tmp_path / 'out' / 'site'} {results}",
        f"true generate --clean --single-file --name demo -o {tmp_path / 'out' / '.single-file'} {results}",
    ]


def test_generate_carries_the_previous_history_into_the_results(tmp_path: Path, bare_path: Path) -> None:
    _executable(bare_path / "java", "#!/bin/sh\n")
    tools, _ = _fake_tools(tmp_path)
    history = tmp_path / "out" / "site" / "history"
    history.mkdir(parents=True)
    (history / "history.json").write_text('{"a": 1}', encoding="utf-8")
    results = _results(tmp_path / "results")

    generate(results, tmp_path / "out", tools_dir=tools)

    assert (results / "history" / "history.json").read_text(encoding="utf-8") == '{"a": 1}'


def test_carry_history_without_a_previous_report_does_nothing(tmp_path: Path) -> None:
    results = _results(tmp_path / "results")
    assert carry_history(tmp_path / "nothing", results) is False
    assert not (results / "history").exists()


def test_generate_refuses_missing_or_empty_results(tmp_path: Path) -> None:
    expected = f"no Allure results folder at {tmp_path / 'nope'}; fix: run `visionspec run"
    with pytest.raises(ReportError, match="^" + re.escape(expected)):
        generate(tmp_path / "nope", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportError, match=r"holds no test results \(\*-result.json\)"):
        generate(tmp_path / "empty", tmp_path / "out")


def test_an_allure_failure_carries_its_output(tmp_path: Path, bare_path: Path) -> None:
    _executable(bare_path / "java", "#!/bin/sh\n")
    tools, _ = _fake_tools(tmp_path, fail=True)
    with pytest.raises(ReportError) as raised:
        generate(_results(tmp_path / "results"), tmp_path / "out", tools_dir=tools)
    assert str(raised.value).startswith("allure generate: failed with exit code 3")
    assert str(raised.value).endswith("Could not read results: boom")


def test_report_command_prints_the_single_file(tmp_path: Path, bare_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    _executable(bare_path / "java", "#!/bin/sh\n")
    tools, _ = _fake_tools(tmp_path)
    results = _results(tmp_path / "results")
    parser = argparse.ArgumentParser()
    report_cli.register(parser.add_subparsers())
    args = parser.parse_args(["report", "--results", str(results), "--out", str(tmp_path / "out"),
                              "--tools", str(tools)])

    assert args.handler(args) == 0
    assert capsys.readouterr().out == f"{(tmp_path / 'out' / 'visionspec-report.html').resolve()}\n"
    assert os.environ["PATH"] == str(bare_path)


def test_report_command_takes_its_folders_from_the_project_config(
    tmp_path: Path, bare_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _executable(bare_path / "java", "#!/bin/sh\n")
    tools, _ = _fake_tools(tmp_path)
    project = tmp_path / "team"
    _results(project / "runs" / "latest")
    project.joinpath("visionspec.toml").write_text('results = "runs/latest"\nreport = "for-the-po"\n', encoding="utf-8")
    monkeypatch.chdir(project)
    parser = argparse.ArgumentParser()
    report_cli.register(parser.add_subparsers())
    args = parser.parse_args(["report", "--tools", str(tools)])

    assert args.handler(args) == 0
    assert capsys.readouterr().out == f"{(project / 'for-the-po' / 'visionspec-report.html').resolve()}\n"
