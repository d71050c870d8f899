"""The report side of a run: evidence pictures, plots, HTML tables, Allure metadata and the Allure CLI.

Each module stands alone and is imported where it is used (``visionspec.report.plots`` pulls in
matplotlib, which costs about a second, so nothing here imports it eagerly).
"""

from __future__ import annotations
