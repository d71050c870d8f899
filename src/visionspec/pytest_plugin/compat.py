"""Every private name of pytest-bdd and allure-pytest-bdd that visionspec relies on, in one module.

pytest-bdd keeps the pytest internals it needs in its own ``compat.py``; this is the same idea one layer
up. ``tests/steps/test_compat.py`` checks each of these names, so an upgrade that moves one fails
loudly there instead of silently at a user's run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import scenario as bdd_scenario
from pytest_bdd.feature import get_feature
from pytest_bdd.parser import Feature, Step
from pytest_bdd.scenario import (  # type: ignore[attr-defined]
    CONFIG_STACK,
    make_python_name,
    scenario_wrapper_template_registry,
)
from pytest_bdd.steps import StepFunctionContext, step_function_context_registry

__all__ = ["Feature", "Step", "StepFunctionContext"]


def step_contexts() -> Iterator[StepFunctionContext]:
    """Every registered step definition (pytest-bdd's global registry)."""
    yield from step_function_context_registry.values()


def scenario_template(function: object) -> Any | None:
    """The pytest-bdd scenario behind a generated test function, or None for a plain test."""
    try:
        return scenario_wrapper_template_registry.get(function)  # type: ignore[call-overload]
    except TypeError:  # unhashable
        return None


def current_config() -> pytest.Config:
    """The config of the pytest session that is collecting (pytest-bdd keeps a stack of them)."""
    return CONFIG_STACK[-1]


def parse_feature(path: Path) -> Feature:
    """The parsed feature file (pytest-bdd's parser and cache)."""
    return get_feature(str(path.parent), path.name)


def scenario_tests(path: Path) -> dict[str, Callable[..., object]]:
    """One pytest-bdd test function per scenario of the feature file at ``path``, by test name."""
    feature = parse_feature(path)
    tests: dict[str, Callable[..., object]] = {}
    for name in feature.scenarios:
        test_name = f"test_{make_python_name(name)}"
        suffix = 0
        while f"{test_name}{f'_{suffix}' if suffix else ''}" in tests:
            suffix += 1
        tests[f"{test_name}{f'_{suffix}' if suffix else ''}"] = bdd_scenario(
            str(path), name, features_base_dir=str(path.parent)
        )(_scenario_body)
    return tests


def _scenario_body() -> None:
    """The body of a generated scenario test: the steps are the test."""


def matches_some_step(step: Step) -> bool:
    """True when some registered step definition of the step's type matches its text."""
    return any(context.type == step.type and context.parser.is_matching(step.name) for context in step_contexts())


def phrase_spans(step: Step, step_func: object) -> dict[str, str]:
    """The text the tester wrote for each parameter of the step's phrase (empty optional parts left out)."""
    for context in step_contexts():
        if context.step_func is step_func and hasattr(context.parser, "spans"):
            spans: dict[str, str] = context.parser.spans(step.name)
            return spans
    return {}


def set_fixture(request: pytest.FixtureRequest, name: str, value: object) -> None:
    """Give the scenario's fixture ``name`` this value, as ``target_fixture`` does (for a step that sets two)."""
    from pytest_bdd.compat import inject_fixture

    inject_fixture(request, name, value)


# --- allure-pytest-bdd -----------------------------------------------------------------------------


def _allure_listener(config: pytest.Config) -> Any | None:
    from allure_pytest_bdd.pytest_bdd_listener import PytestBDDListener

    for plugin in config.pluginmanager.get_plugins():
        if isinstance(plugin, PytestBDDListener):
            return plugin
    return None


def set_step_parameters(request: pytest.FixtureRequest, step: Step, values: dict[str, str]) -> None:
    """Replace the Allure step's parameters (every Python argument by default) with the phrase's values."""
    from allure_commons.model2 import Parameter
    from allure_pytest_bdd.steps import get_step_uuid

    listener = _allure_listener(request.config)
    if listener is None:
        return
    with listener.lifecycle.update_step(uuid=get_step_uuid(step)) as result:
        if result is not None:
            result.parameters = [Parameter(name=name, value=value) for name, value in values.items()]


def stop_step_with(request: pytest.FixtureRequest, step: Step, exception: BaseException) -> None:
    """Close the running Allure step as failed (an ``AssertionError``) or broken, though the step returned."""
    from allure_pytest_bdd.steps import get_step_uuid, stop_gherkin_step

    listener = _allure_listener(request.config)
    if listener is not None:
        stop_gherkin_step(listener.lifecycle, request.node, get_step_uuid(step), exception=exception)


def _title_path(request: pytest.FixtureRequest, feature: Feature) -> list[str]:
    """Allure's title path, for a feature file anywhere (allure's own fails outside the root folder)."""
    path = Path(feature.filename).resolve()
    for base in (Path(str(request.config.rootpath)).resolve(), Path.cwd().resolve()):
        if path.is_relative_to(base):
            parts = path.relative_to(base).parts
            return [*parts[:-1], feature.name or parts[-1]]
    return [path.parent.name, feature.name or path.name]


def install_allure_fixes() -> None:
    """Let allure-pytest-bdd report feature files that lie outside the pytest root folder."""
    from allure_pytest_bdd import pytest_bdd_listener

    pytest_bdd_listener.get_title_path = _title_path
