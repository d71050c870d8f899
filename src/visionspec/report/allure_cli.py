"""Allure 2 on this machine: find it, install it on first use, and generate the two reports.

Allure 2 comes from the npm package ``allure-commandline`` (the Java jars are inside it), installed
into a project-local folder (``.tools/allure`` by default) on first use, so nothing is installed
system-wide. It needs Java 8 or newer to run and npm only to install. Every Allure call runs with
``ALLURE_NO_ANALYTICS=true``.

``generate`` makes two reports from one results folder:

- a directory build, ``OUT/site/``: the one that keeps ``history/``; before generating, the previous
  build's ``history/`` is copied into the results folder, so trends and each goal's history carry
  from one run (checkpoint) to the next;
- a single self-contained HTML file, ``OUT/visionspec-report.html``, for the product owner: it opens
  from ``file://`` (a directory build needs a web server).

Example:
    >>> report = generate(Path("allure-results"), Path("allure-report"))  # doctest: +SKIP
    >>> report.name
    'visionspec-report.html'
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from visionspec.errors import ReportError

ALLURE_PACKAGE = "allure-commandline"
ALLURE_VERSION = "2.46.1"
DEFAULT_TOOLS_DIR = Path(".tools") / "allure"
SITE_FOLDER = "site"
SINGLE_FILE_NAME = "visionspec-report.html"
DEFAULT_REPORT_NAME = "visionspec acceptance report"
HISTORY_FOLDER = "history"
_INSTALL_TIMEOUT_S = 600
_GENERATE_TIMEOUT_S = 1800
_OUTPUT_TAIL = 1500


def allure_executable(tools_dir: Path = DEFAULT_TOOLS_DIR) -> Path:
    """Where the Allure launcher lives once ``allure-commandline`` is installed under ``tools_dir``."""
    return tools_dir / "node_modules" / ALLURE_PACKAGE / "dist" / "bin" / "allure"


def installed_version(tools_dir: Path = DEFAULT_TOOLS_DIR) -> str | None:
    """The version of ``allure-commandline`` installed under ``tools_dir``, or None when absent."""
    manifest = tools_dir / "node_modules" / ALLURE_PACKAGE / "package.json"
    if not allure_executable(tools_dir).is_file() or not manifest.is_file():
        return None
    try:
        version = json.loads(manifest.read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        return None
    return version if isinstance(version, str) else None


def find_java() -> Path:
    """The ``java`` that Allure will run: ``$JAVA_HOME/bin/java`` if set, else the one on ``PATH``.

    Raises:
        ReportError: no Java; the message says how to install one.
    """
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        return Path(java_home) / "bin" / "java"
    found = shutil.which("java")
    if found is None:
        raise ReportError(
            "Java was not found (no `java` on PATH and no JAVA_HOME): Allure 2 needs Java 8 or newer to make "
            "the report; fix: install a Java runtime (Debian/Ubuntu: `apt-get install default-jre-headless`) "
            "or set JAVA_HOME, then run `visionspec report` again"
        )
    return Path(found)


def install_allure(tools_dir: Path = DEFAULT_TOOLS_DIR) -> Path:
    """Install ``allure-commandline`` at ``ALLURE_VERSION`` into ``tools_dir`` with npm; return the launcher.

    Raises:
        ReportError: npm is missing, or the install failed (the message carries npm's last output lines).
    """
    npm = shutil.which("npm")
    if npm is None:
        raise ReportError(
            f"npm was not found on PATH: it is needed once, to install Allure {ALLURE_VERSION} into "
            f"{tools_dir}; fix: install Node.js with npm (Debian/Ubuntu: `apt-get install npm`), or install it "
            f"yourself: `npm install --prefix {tools_dir} {ALLURE_PACKAGE}@{ALLURE_VERSION}`"
        )
    tools_dir.mkdir(parents=True, exist_ok=True)
    command = [npm, "install", "--prefix", str(tools_dir), "--no-audit", "--no-fund", "--loglevel=error",
               f"{ALLURE_PACKAGE}@{ALLURE_VERSION}"]
    _run(command, what=f"installing Allure {ALLURE_VERSION} with npm into {tools_dir}",
         fix="check that the npm registry can be reached, then run `visionspec report` again",
         timeout_s=_INSTALL_TIMEOUT_S)
    launcher = allure_executable(tools_dir)
    if not launcher.is_file():
        raise ReportError(f"npm finished but {launcher} does not exist; fix: delete {tools_dir} and try again")
    return launcher


def ensure_allure(tools_dir: Path = DEFAULT_TOOLS_DIR) -> Path:
    """The Allure launcher under ``tools_dir``, installing it on first use; checks that Java is there.

    A different installed version is replaced, so every machine makes the same report.

    Raises:
        ReportError: Java or (for the install) npm is missing, or the install failed.
    """
    find_java()
    if installed_version(tools_dir) == ALLURE_VERSION:
        return allure_executable(tools_dir)
    return install_allure(tools_dir)


def generate(
    results_dir: Path,
    out_dir: Path,
    *,
    tools_dir: Path = DEFAULT_TOOLS_DIR,
    report_name: str | None = None,
    make_single_file: bool = True,
) -> Path:
    """Make the directory report (carrying history forward) and the single-file report; return the single file.

    Args:
        results_dir: the Allure results folder a run wrote (``--alluredir``). The previous report's
            ``history/`` is copied into it before generating.
        out_dir: where the reports go: ``OUT/site/`` and ``OUT/visionspec-report.html``.
        tools_dir: where Allure is (or will be) installed.
        report_name: the title the report shows; default the run's decision (``epoch-22: ship it``, from
            ``decision.json`` in ``results_dir``), else ``visionspec acceptance report``.
        make_single_file: also make the single file; False (a checkpoint in the middle of a sequence, which
            only carries history forward) makes only the directory build and returns its ``index.html``.

    Returns:
        The path of the self-contained HTML file (or of the directory build's ``index.html``).

    Raises:
        ReportError: no results in ``results_dir``, Java or npm missing, or Allure failed.
    """
    _check_results(results_dir)
    if report_name is None:
        from visionspec.report.decision import report_title

        report_name = report_title(results_dir) or DEFAULT_REPORT_NAME
    allure = ensure_allure(tools_dir)
    site = out_dir / SITE_FOLDER
    carry_history(site, results_dir)
    _allure(allure, ["generate", "--clean", "--name", report_name, "-o", str(site), str(results_dir)])
    if not make_single_file:
        return site / "index.html"
    staging = out_dir / ".single-file"
    _allure(allure, ["generate", "--clean", "--single-file", "--name", report_name, "-o", str(staging),
                     str(results_dir)])
    single_file = out_dir / SINGLE_FILE_NAME
    (staging / "index.html").replace(single_file)
    shutil.rmtree(staging, ignore_errors=True)
    return single_file


def carry_history(previous_site: Path, results_dir: Path) -> bool:
    """Copy ``previous_site/history/`` into ``results_dir/history/`` (replacing it); False when there is none."""
    history = previous_site / HISTORY_FOLDER
    if not history.is_dir():
        return False
    target = results_dir / HISTORY_FOLDER
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(history, target)
    return True


def _check_results(results_dir: Path) -> None:
    """Refuse a results folder with no test results in it."""
    if not results_dir.is_dir():
        raise ReportError(f"no Allure results folder at {results_dir}; fix: run `visionspec run --results "
                          f"{results_dir}` first, or pass --results with the folder a run wrote")
    if not any(results_dir.glob("*-result.json")):
        raise ReportError(f"{results_dir} holds no test results (*-result.json); fix: run `visionspec run "
                          f"--results {results_dir}` first, or pass --results with the folder a run wrote")


def _allure(allure: Path, arguments: Sequence[str]) -> None:
    """Run Allure with analytics off."""
    _run([str(allure), *arguments], what=f"allure {arguments[0]}",
         fix="Allure's output below says why; remove a corrupt results file, or repeat the run",
         timeout_s=_GENERATE_TIMEOUT_S, extra_env={"ALLURE_NO_ANALYTICS": "true"})


def _run(
    command: Sequence[str], *, what: str, fix: str, timeout_s: int, extra_env: dict[str, str] | None = None
) -> None:
    """Run a tool quietly; on failure raise ``ReportError`` with its last output lines."""
    env = {**os.environ, **(extra_env or {})}
    try:
        completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as err:
        raise ReportError(f"{what}: gave no result within {timeout_s} s; fix: {fix}") from err
    except OSError as err:
        raise ReportError(f"{what}: cannot start {command[0]} ({err}); fix: {fix}") from err
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).strip()[-_OUTPUT_TAIL:]
        raise ReportError(f"{what}: failed with exit code {completed.returncode}; fix: {fix}\n{output}")
