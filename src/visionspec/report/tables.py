"""Figures as a small, clean, self-contained HTML table (every value escaped) for an Allure attachment.

Example:
    >>> page = key_value_table({"balloons found": 742, "of": 1000, "recall": "74.2%"}, caption="Detector")
    >>> "<td>1,000</td>" in page
    True
"""

from __future__ import annotations

import csv
import html
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

Tone = Literal["good", "bad", "neutral"]


@dataclass(frozen=True)
class Badge:
    """A cell shown as a coloured label, e.g. ``Badge("met", "good")`` or ``Badge("missed", "bad")``."""

    text: str
    tone: Tone = "neutral"


Cell = str | int | float | Badge | None

_STYLE = """
body { margin: 0; padding: 8px; font: 14px/1.4 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color: #212121; background: #fff; }
table { border-collapse: collapse; min-width: 320px; }
caption { text-align: left; font-weight: 600; padding: 4px 0 8px; }
th, td { padding: 5px 12px; border-bottom: 1px solid #e0e0e0; text-align: left; vertical-align: top; }
th { background: #f5f5f5; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.undefined { color: #9e9e9e; }
span.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; }
span.good { background: #e8f5e9; color: #1b5e20; }
span.bad { background: #ffebee; color: #b71c1c; }
span.neutral { background: #eceff1; color: #37474f; }
""".strip()

UNDEFINED = "—"


def format_cell(value: Cell) -> str:
    """The text a cell shows (not escaped): ``1,000`` for ints, three decimals for floats, ``—`` for undefined.

    Example:
        >>> [format_cell(v) for v in (1000, 0.74213, None, True, float("nan"))]
        ['1,000', '0.742', '—', 'yes', '—']
    """
    if value is None:
        return UNDEFINED
    if isinstance(value, Badge):
        return value.text
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return UNDEFINED if math.isnan(value) else f"{value:,.3f}"
    return value


def html_table(
    header: Sequence[str], rows: Sequence[Sequence[Cell]], *, caption: str | None = None, align_numbers: bool = True
) -> str:
    """A whole HTML page holding one table; numbers right-aligned, undefined values as ``—``.

    Args:
        header: column names.
        rows: one sequence of cells a row, each as long as ``header``.
        caption: a line above the table, or None.
        align_numbers: right-align numbers (columns of figures); False keeps every cell left-aligned.

    Returns:
        The page as text (UTF-8 declared), ready for ``allure.attach(page, name, allure.attachment_type.HTML)``.

    Raises:
        ValueError: a row's length differs from the header's.
    """
    for index, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"row {index} has {len(row)} cells for {len(header)} columns")
    head = "".join(f"<th>{html.escape(name)}</th>" for name in header)
    body = "\n".join("<tr>" + "".join(_cell_html(cell, align_numbers) for cell in row) + "</tr>" for row in rows)
    caption_html = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><style>\n'
        f"{_STYLE}\n</style></head><body>\n<table>{caption_html}\n<thead><tr>{head}</tr></thead>\n"
        f"<tbody>\n{body}\n</tbody></table>\n</body></html>\n"
    )


def key_value_table(
    figures: Mapping[str, Cell], *, caption: str | None = None, header: tuple[str, str] = ("figure", "value")
) -> str:
    """A two-column table, one row a named figure (the usual evidence of a Then step).

    Args:
        figures: figure name to value, in display order.
        caption: a line above the table, or None.
        header: the two column names.

    Returns:
        The page as text.
    """
    # One column mixes numbers and words ("80%", "at least 800"): keep it left-aligned so it reads as a list.
    return html_table(header, [(name, value) for name, value in figures.items()], caption=caption, align_numbers=False)


def _cell_html(cell: Cell, align_numbers: bool) -> str:
    """One ``<td>``, escaped, with its class (number, undefined, badge)."""
    text = html.escape(format_cell(cell))
    if isinstance(cell, Badge):
        return f'<td><span class="badge {cell.tone}">{text}</span></td>'
    if cell is None or (isinstance(cell, float) and math.isnan(cell)):
        return f'<td class="undefined">{text}</td>'
    if align_numbers and isinstance(cell, int | float) and not isinstance(cell, bool):
        return f'<td class="num">{text}</td>'
    return f"<td>{text}</td>"


def csv_table(header: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """The table as CSV (cells as ``format_cell`` writes them), which Allure 2 shows as a table that fits its rows.

    Example:
        >>> print(csv_table(("goal", "count"), [("at least 800", 742)]), end="")
        goal,count
        at least 800,742
    """
    for index, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"row {index} has {len(row)} cells for {len(header)} columns")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([format_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue()
