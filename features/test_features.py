"""The one binding module: every scenario of the selected feature files becomes a test.

Testers never edit this file; `visionspec run FEATURES...` (or `pytest features/`) chooses what to bind.
"""

from pathlib import Path

from pytest_bdd import scenarios
from pytest_bdd.scenario import CONFIG_STACK

from visionspec.pytest_plugin import bound_features

scenarios(*bound_features(CONFIG_STACK[-1], default=Path(__file__).parent))
