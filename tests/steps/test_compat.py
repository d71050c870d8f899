"""Every private name of pytest-bdd and allure-pytest-bdd visionspec uses still exists (fails loudly on an upgrade)."""

from __future__ import annotations

import importlib
import inspect

import pytest


@pytest.mark.parametrize(("module", "name"), [
    ("pytest_bdd.scenario", "CONFIG_STACK"),
    ("pytest_bdd.scenario", "make_python_name"),
    ("pytest_bdd.scenario", "scenario_wrapper_template_registry"),
    ("pytest_bdd.steps", "step_function_context_registry"),
    ("pytest_bdd.steps", "StepFunctionContext"),
    ("pytest_bdd.feature", "get_feature"),
    ("allure_pytest_bdd.pytest_bdd_listener", "PytestBDDListener"),
    ("allure_pytest_bdd.pytest_bdd_listener", "get_title_path"),
    ("allure_pytest_bdd.steps", "get_step_uuid"),
    ("allure_pytest_bdd.steps", "stop_gherkin_step"),
])
def test_the_private_names_visionspec_uses_exist(module: str, name: str) -> None:
    assert hasattr(importlib.import_module(module), name), (
        f"{module}.{name} moved: update visionspec.pytest_plugin.compat")


def test_the_signatures_visionspec_calls_are_unchanged() -> None:
    from allure_pytest_bdd.pytest_bdd_listener import get_title_path
    from allure_pytest_bdd.steps import stop_gherkin_step

    assert list(inspect.signature(get_title_path).parameters) == ["request", "feature"]
    assert list(inspect.signature(stop_gherkin_step).parameters)[:3] == ["lifecycle", "item", "step_uuid"]
