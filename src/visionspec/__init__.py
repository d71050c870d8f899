"""visionspec: executable acceptance goals for image-analysis models."""

from __future__ import annotations

__version__ = "0.1.0"
