"""Root conftest: the visionspec plugin (also registered by its pytest11 entry point when installed)."""

pytest_plugins = ["visionspec.pytest_plugin"]
