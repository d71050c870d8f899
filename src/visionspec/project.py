"""A team's visionspec project: its folder and its config (``visionspec.toml`` or ``[tool.visionspec]``).

The project folder is the nearest folder, from the working directory up, with a ``visionspec.toml`` or a
``pyproject.toml`` holding ``[tool.visionspec]``; without either, the working directory with the defaults.
Every key is optional; relative paths are relative to the project folder::

    features = ["features"]          # feature files or folders `visionspec run` judges
    models = "models"                # the model registry: <name>/model.yaml + <name>/checkpoints/*.onnx
    datasets = "datasets"            # data set folders (or $VISIONSPEC_DATASETS)
    results = "allure-results"       # Allure results, summary.json, decision.md
    report = "allure-report"         # the HTML report
    detector = ""                    # the candidate detector: a model name in models/ or an ONNX file
    colour_model = ""                # the candidate classifier, likewise
    tags = []                        # extra tags, declared for pytest's --strict-markers
    backend = "local"                # inference backend: local | ray
    tracker_url = ""                 # a story tag's link, e.g. "https://tracker.example/browse/{}"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from visionspec.errors import VisionSpecError

CONFIG_FILE = "visionspec.toml"
PYPROJECT = "pyproject.toml"


class ConfigError(VisionSpecError):
    """The project config (visionspec.toml or [tool.visionspec]) cannot be read or has a bad key."""


@dataclass(frozen=True)
class ProjectConfig:
    """The project's settings, every path absolute.

    Attributes:
        root: the project folder.
        source: the config file, or None when the project has none (defaults).
    """

    root: Path
    source: Path | None
    features: tuple[Path, ...]
    models: Path
    datasets: Path
    results: Path
    report: Path
    detector: str = ""
    colour_model: str = ""
    tags: tuple[str, ...] = ()
    backend: str = "local"
    tracker_url: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def model_choice(self, value: str) -> tuple[Path | None, str]:
        """A ``detector`` / ``colour_model`` value as (ONNX file, model name): one of them is set."""
        if not value:
            return None, ""
        if value.endswith(".onnx"):
            return self.root / value, ""
        return None, value


# the folder keys and their defaults, relative to the project folder
_PATH_KEYS = {"models": "models", "datasets": "datasets", "results": "allure-results", "report": "allure-report"}
_TEXT_KEYS = ("detector", "colour_model", "backend", "tracker_url")
_BACKENDS = ("local", "ray")


def _table(path: Path) -> dict[str, Any] | None:
    """The visionspec table of ``path`` (a visionspec.toml, or a pyproject.toml's [tool.visionspec])."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: cannot be read as TOML ({err}); fix: correct the file") from err
    if path.name == CONFIG_FILE:
        return data
    tool = data.get("tool", {})
    table = tool.get("visionspec") if isinstance(tool, dict) else None
    return table if isinstance(table, dict) else None


def find_project(start: Path | None = None) -> ProjectConfig:
    """The project that ``start`` (default: the working directory) lies in, with its config read."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for name in (CONFIG_FILE, PYPROJECT):
            candidate = folder / name
            if candidate.is_file() and (table := _table(candidate)) is not None:
                return config_from(table, folder, candidate)
    return config_from({}, here, None)


def config_from(table: dict[str, Any], root: Path, source: Path | None) -> ProjectConfig:
    """Validate the config table; relative paths against ``root``."""
    where = source or root
    known = {f.name for f in fields(ProjectConfig)} - {"root", "source", "extra"}
    unknown = sorted(set(table) - known - {"service"})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} in the visionspec config; "
                          f"accepted: {', '.join(sorted(known | {'service'}))}")
    values: dict[str, Any] = {key: root / (_text(table, key, where) if key in table else default)
                              for key, default in _PATH_KEYS.items()}
    for key in _TEXT_KEYS:
        if key in table:
            values[key] = _text(table, key, where)
    if values.get("backend", "local") not in _BACKENDS:
        raise ConfigError(f"{where}: backend = {values['backend']!r}; accepted: {', '.join(_BACKENDS)}")
    features = table.get("features", ["features"])
    tags = table.get("tags", [])
    for key, value in (("features", features), ("tags", tags)):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f'{where}: {key} must be a list of strings, e.g. {key} = ["..."]')
    return ProjectConfig(
        root=root, source=source, features=tuple(root / item for item in features), tags=tuple(tags),
        extra={"service": table["service"]} if "service" in table else {}, **values,
    )


def _text(table: dict[str, Any], key: str, where: Path) -> str:
    value = table[key]
    if not isinstance(value, str):
        raise ConfigError(f'{where}: {key} must be a string, e.g. {key} = "..."; got {type(value).__name__}')
    return value
