"""``python -m visionspec``."""

from __future__ import annotations

import sys

from visionspec.cli import main

sys.exit(main())
