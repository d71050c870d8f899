"""Root conftest: registers the visionspec plugin, the fixture modules and the step library."""

pytest_plugins = [
    "visionspec.pytest_plugin",
    "fixtures.run",
    "steps.datasets",
    "steps.models",
    "steps.actions",
    "steps.goals",
    "steps.baseline",
]
