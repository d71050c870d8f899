"""The project config: found from any folder inside the project, validated, paths against the project folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from visionspec.project import ConfigError, find_project


def test_a_folder_without_config_is_its_own_project_with_the_defaults(tmp_path: Path) -> None:
    project = find_project(tmp_path)
    assert (project.root, project.source) == (tmp_path.resolve(), None)
    assert (project.models, project.results, project.features) == (
        tmp_path.resolve() / "models", tmp_path.resolve() / "allure-results", (tmp_path.resolve() / "features",))


def test_the_nearest_config_above_wins_and_its_paths_are_the_projects(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.visionspec]\nmodels = "onnx"\n'
                                             'detector = "face-detector"\ntags = ["team-goal"]\n', encoding="utf-8")
    inner = tmp_path / "features" / "deep"
    inner.mkdir(parents=True)
    project = find_project(inner)
    assert project.source == tmp_path.resolve() / "pyproject.toml"
    assert project.models == tmp_path.resolve() / "onnx" and project.tags == ("team-goal",)
    assert project.model_choice(project.detector) == (None, "face-detector")


def test_a_pyproject_without_the_table_is_not_a_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    assert find_project(tmp_path).source is None


@pytest.mark.parametrize(("text", "message"), [
    ('modles = "m"\n', "unknown key(s) modles in the visionspec config; accepted: "),
    ('backend = "spark"\n', "backend = 'spark'; accepted: local, ray"),
    ('tags = "team"\n', 'tags must be a list of strings, e.g. tags = ["..."]'),
    ("models = 3\n", 'models must be a string, e.g. models = "..."; got int'),
    ("models = [\n", "cannot be read as TOML"),
])
def test_a_bad_config_is_refused_naming_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "visionspec.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        find_project(tmp_path)
    assert str(refused.value).startswith(str(tmp_path.resolve() / "visionspec.toml"))
    assert message in str(refused.value)
