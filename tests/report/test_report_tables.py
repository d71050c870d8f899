"""HTML tables: escaped, formatted, one page a table."""

from __future__ import annotations

import pytest

from visionspec.report.tables import Badge, format_cell, html_table, key_value_table


def test_cells_format_as_people_read_them() -> None:
    cells = [1000, 0.74213, None, True, float("nan"), "74.2%", Badge("met", "good"), -3]
    assert [format_cell(c) for c in cells] == ["1,000", "0.742", "—", "yes", "—", "74.2%", "met", "-3"]


def test_every_value_is_escaped() -> None:
    page = html_table(["<b>name</b>", "value"], [['<script>alert("x")</script>', "a & b"]], caption="x < y")

    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<th>&lt;b&gt;name&lt;/b&gt;</th>" in page
    assert "<td>a &amp; b</td>" in page
    assert "<caption>x &lt; y</caption>" in page


def test_numbers_are_right_aligned_and_undefined_is_marked() -> None:
    page = html_table(["goal", "measured", "interval"], [["recall", 0.742, None]])

    assert '<tr><td>recall</td><td class="num">0.742</td><td class="undefined">—</td></tr>' in page
    assert page.startswith('<!DOCTYPE html>\n<html><head><meta charset="utf-8">')


def test_badges_carry_their_tone() -> None:
    page = html_table(["verdict"], [[Badge("missed", "bad")], [Badge("met <ok>", "good")]])

    assert '<td><span class="badge bad">missed</span></td>' in page
    assert '<td><span class="badge good">met &lt;ok&gt;</span></td>' in page


def test_key_value_table_keeps_order_and_left_aligns() -> None:
    page = key_value_table({"balloons": 1000, "found": 742, "recall": "74.2%"}, caption="Detector")

    rows = [line for line in page.splitlines() if line.startswith("<tr><td>")]
    assert rows == [
        "<tr><td>balloons</td><td>1,000</td></tr>",
        "<tr><td>found</td><td>742</td></tr>",
        "<tr><td>recall</td><td>74.2%</td></tr>",
    ]
    assert "<thead><tr><th>figure</th><th>value</th></tr></thead>" in page


def test_a_row_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="row 1 has 1 cells for 2 columns"):
        html_table(["a", "b"], [["1", "2"], ["3"]])
