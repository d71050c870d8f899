"""Plots for the report: precision-recall curves, a confusion matrix and a goal-by-checkpoint trend.

matplotlib's object API (``Figure``, no ``pyplot``): no global state, safe to call from any thread,
and nothing is shown on screen. Every function returns an encoded PNG ``Picture``.

Example:
    >>> curve = PrCurve("balloon", recall=np.array([0.0, 0.5, 0.9]), precision=np.array([1.0, 0.95, 0.7]))
    >>> pr_curve_plot([curve]).media_type
    'image/png'
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, PercentFormatter
from numpy.typing import NDArray
from PIL import Image

from visionspec.report.picture import Picture

_DPI = 100
_MET = "#2e7d32"
_MISSED = "#c62828"
_UNDEFINED = "#9e9e9e"
# Colour-blind-safe line colours (Okabe-Ito), one a curve or goal.
# Trend panels, in inches: room for the y tick labels, a two-line title and slanted checkpoint names.
_PANEL_WIDTH = 4.6
_PANEL_HEIGHT = 3.4
_PANEL_PAD_LEFT = 0.65
_PANEL_PAD_RIGHT = 0.2
_PANEL_PAD_TOP = 0.5
_PANEL_PAD_BOTTOM = 0.75
_TREND_HEADING = "Goals by checkpoint. Dashed: the goal; green point: met; red: missed; gap: not measured."
_PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")


@dataclass(frozen=True, eq=False)
class PrCurve:
    """One precision-recall curve.

    Attributes:
        label: what the curve is for, e.g. a class or colour name.
        recall: (K,) recall at each point, in [0, 1].
        precision: (K,) precision at each point, in [0, 1].
        average_precision: the area under the curve as the metrics report it, shown in the legend; None to omit.
        operating_point: (recall, precision) at the run's score threshold, marked with a dot; None to omit.
        operating_label: how the dot is labelled, e.g. ``score ≥ 0.50``.
    """

    label: str
    recall: NDArray[np.float64]
    precision: NDArray[np.float64]
    average_precision: float | None = None
    operating_point: tuple[float, float] | None = None
    operating_label: str = ""


@dataclass(frozen=True)
class TrendSeries:
    """One goal across checkpoints.

    Attributes:
        goal: the goal in words, the panel's title (e.g. ``recall at least 80%``).
        values: the measured value on each checkpoint, None where it could not be measured.
        bar: the goal's threshold, drawn dashed; None when the goal has none to draw.
        met: per checkpoint whether the goal was met (marker green or red); None where not judged.
        as_percent: a rate: the axis runs from 0 to 100% (values are fractions in [0, 1]).
        as_points: a change of a rate: the axis in percentage points (values are fractions in [-1, 1]).
        as_count: a count: whole-number ticks.
    """

    goal: str
    values: Sequence[float | None]
    bar: float | None
    met: Sequence[bool | None] = field(default_factory=tuple)
    as_percent: bool = False
    as_points: bool = False
    as_count: bool = False


def pr_curve_plot(curves: Sequence[PrCurve], *, title: str = "Precision and recall") -> Picture:
    """Draw precision against recall, one line a curve, with the operating point marked.

    Args:
        curves: the curves, in legend order.
        title: the plot's title.

    Returns:
        A PNG of about 640 x 480 pixels.
    """
    figure = Figure(figsize=(6.4, 4.8), dpi=_DPI, layout="constrained")
    axes = figure.add_subplot()
    for index, curve in enumerate(curves):
        colour = _PALETTE[index % len(_PALETTE)]
        label = curve.label if curve.average_precision is None else f"{curve.label} (AP {curve.average_precision:.3f})"
        axes.plot(curve.recall, curve.precision, color=colour, linewidth=2, label=label, drawstyle="steps-post")
        if curve.operating_point is not None:
            recall, precision = curve.operating_point
            axes.plot([recall], [precision], "o", color=colour, markersize=8, markeredgecolor="black")
            if curve.operating_label:
                axes.annotate(curve.operating_label, (recall, precision), textcoords="offset points", xytext=(-8, -16),
                              ha="right", fontsize=9, color=colour)
    axes.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="recall (share of objects found)",
             ylabel="precision (share of boxes that are right)", title=title)
    axes.grid(True, alpha=0.3)
    if curves:
        axes.legend(loc="lower left", fontsize=9)
    else:
        axes.text(0.5, 0.5, "nothing to plot", ha="center", va="center", transform=axes.transAxes, color=_UNDEFINED)
    return _render(figure)


def confusion_matrix_plot(
    counts: NDArray[np.int64],
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    *,
    title: str = "Confusion matrix",
    row_title: str = "annotated",
    column_title: str = "predicted",
) -> Picture:
    """Draw a confusion matrix: each cell's count and its share of the row, shaded by that share.

    Args:
        counts: (R, C) counts, rows the annotated labels, columns the predicted ones (columns may add
            e.g. ``not found`` for objects the detector missed).
        row_labels: R names.
        column_labels: C names.
        title: the plot's title.
        row_title: what rows are.
        column_title: what columns are.

    Returns:
        A PNG; cells on the diagonal (same label) are outlined.
    """
    matrix = np.asarray(counts, dtype=np.int64)
    if matrix.shape != (len(row_labels), len(column_labels)):
        raise ValueError(f"counts has shape {matrix.shape} for {len(row_labels)} rows and {len(column_labels)} columns")
    totals = matrix.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(totals > 0, matrix / np.maximum(totals, 1), 0.0)
    side = max(3.0, 0.9 * max(matrix.shape) + 1.6)
    figure = Figure(figsize=(side + 1.2, side), dpi=_DPI, layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    figure.colorbar(image, ax=axes, format=PercentFormatter(1.0), label="share of the row", shrink=0.8)
    for (row, column), count in np.ndenumerate(matrix):
        # Zero cells stay quiet so the reader's eye goes to the confusions that happened.
        text = f"{count:,}\n{shares[row, column]:.0%}" if count else "0"
        colour = "white" if shares[row, column] > 0.55 else "black" if count else _UNDEFINED
        axes.text(column, row, text, ha="center", va="center", fontsize=9, color=colour)
        if row_labels[row] == column_labels[column]:
            axes.add_patch(_cell_outline(column, row))
    axes.set_xticks(range(len(column_labels)), labels=list(column_labels), rotation=30, ha="right")
    axes.set_yticks(range(len(row_labels)), labels=[f"{label} ({int(totals[i, 0]):,})" for i, label in
                                                   enumerate(row_labels)])
    axes.set(xlabel=column_title, ylabel=row_title, title=title)
    return _render(figure)


def trend_plot(checkpoints: Sequence[str], series: Sequence[TrendSeries], *, columns: int = 3) -> Picture:
    """Draw each goal across checkpoints: one panel a goal, its line, its bar dashed, met points green, missed red.

    Args:
        checkpoints: checkpoint names in run order (the x axis).
        series: one per goal, each with one value per checkpoint.
        columns: panels a row.

    Returns:
        A PNG, one panel a goal (goals in different units never share an axis), 460 x 340 pixels a panel
        under a heading.
    """
    for one in series:
        if len(one.values) != len(checkpoints) or (one.met and len(one.met) != len(checkpoints)):
            raise ValueError(f"goal {one.goal!r} has {len(one.values)} values for {len(checkpoints)} checkpoints")
    grid_columns = min(columns, max(len(series), 1))
    grid_rows = max(math.ceil(len(series) / grid_columns), 1)
    width = _PANEL_WIDTH * grid_columns
    heading = textwrap.wrap(_TREND_HEADING, int(width / 0.09))
    top = 0.2 + 0.2 * len(heading)
    height = top + _PANEL_HEIGHT * grid_rows
    figure = Figure(figsize=(width, height), dpi=_DPI)
    figure.text(0.5, 1 - 0.1 / height, "\n".join(heading), ha="center", va="top", fontsize=11)
    # Panels placed in inches rather than by a layout engine: constrained layout costs seconds at 10+ panels.
    for index, one in enumerate(series):
        row, column = divmod(index, grid_columns)
        left = column * _PANEL_WIDTH + _PANEL_PAD_LEFT
        axes_top = top + row * _PANEL_HEIGHT + _PANEL_PAD_TOP
        axes_width = _PANEL_WIDTH - _PANEL_PAD_LEFT - _PANEL_PAD_RIGHT
        axes_height = _PANEL_HEIGHT - _PANEL_PAD_TOP - _PANEL_PAD_BOTTOM
        rectangle = (left / width, 1 - (axes_top + axes_height) / height, axes_width / width, axes_height / height)
        _trend_panel(figure.add_axes(rectangle), checkpoints, one, _PALETTE[index % len(_PALETTE)])
    if not series:
        figure.text(0.5, 0.5, "no goals", ha="center", va="center", color=_UNDEFINED)
    return _render(figure)


def _trend_panel(axes: Axes, checkpoints: Sequence[str], series: TrendSeries, colour: str) -> None:
    """One goal's line across checkpoints, its bar dashed."""
    positions = np.arange(len(checkpoints))
    values = np.array([np.nan if v is None else v for v in series.values], dtype=np.float64)
    axes.plot(positions, values, color=colour, linewidth=2, zorder=2)
    verdicts = list(series.met) or [None] * len(checkpoints)
    marker_colours = [_UNDEFINED if met is None else _MET if met else _MISSED for met in verdicts]
    axes.scatter(positions, values, c=marker_colours, s=42, zorder=3, edgecolors="white", linewidths=0.8)
    if series.bar is not None:
        axes.axhline(series.bar, color=colour, linestyle="--", linewidth=1.5, zorder=1, label="goal")
        axes.legend(loc="best", fontsize=8, frameon=False)
    axes.set_title("\n".join(textwrap.wrap(series.goal, 44)), fontsize=10)
    axes.set_xticks(positions, labels=list(checkpoints), rotation=30, ha="right", fontsize=8)
    axes.grid(True, axis="y", alpha=0.3)
    _trend_axis(axes, series)


def _trend_axis(axes: Axes, series: TrendSeries) -> None:
    """The y axis in the goal's unit, with ticks that never repeat a label (a rate within 0-100%)."""
    if series.as_percent:
        axes.set_ylim(-0.03, 1.03)
        axes.yaxis.set_major_locator(FixedLocator([0.0, 0.2, 0.4, 0.6, 0.8, 1.0]))
        axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    elif series.as_points:
        axes.yaxis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]))
        axes.yaxis.set_major_formatter(FuncFormatter(_points_label))
        axes.set_ylabel("percentage points", fontsize=8)
    elif series.as_count:
        axes.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))


def _points_label(value: float, _position: int | None = None) -> str:
    """A tick of a change of a rate: ``+5``, ``-2.5`` (points); ticks are 0.5 points apart or more."""
    points = round(value * 100, 2)
    return f"{points:+g}" if points else "0"


def _cell_outline(column: int, row: int) -> Rectangle:
    """A dark square around one cell of the matrix (the diagonal: right answers)."""
    return Rectangle((column - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="#263238", linewidth=1.5)


def _render(figure: Figure) -> Picture:
    """The figure as a PNG picture."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
    data = buffer.getvalue()
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    return Picture(data, "image/png", "png", width, height)
