"""Anti-aliased drawing on a float canvas: windows, signed distances, compositing.

Shapes are implicit functions evaluated over the pixel centres of a window (the part of the canvas
their bounds touch); the coverage of a pixel is ``clip(0.5 - signed_distance, 0, 1)``. The same
coverage serves drawing and the occlusion bookkeeping, so annotations agree with the pixels.
Only exactly rounded arithmetic is used (see ``palette``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Grid = NDArray[np.float32]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in canvas pixels (edges, not centres)
Point = tuple[float, float]


@dataclass(frozen=True)
class Window:
    """A rectangle of canvas pixels, ``x0 <= x < x1``, ``y0 <= y < y1``."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def empty(self) -> bool:
        """Whether the window holds no pixel."""
        return self.x1 <= self.x0 or self.y1 <= self.y0

    def grid(self) -> tuple[Grid, Grid]:
        """Pixel-centre coordinates: ys (h, 1) and xs (1, w), float32, for broadcasting."""
        ys = np.arange(self.y0, self.y1, dtype=np.float32)[:, None] + np.float32(0.5)
        xs = np.arange(self.x0, self.x1, dtype=np.float32)[None, :] + np.float32(0.5)
        return ys, xs

    def intersect(self, other: Window) -> Window:
        """The pixels in both windows (possibly empty)."""
        return Window(max(self.x0, other.x0), max(self.y0, other.y0), min(self.x1, other.x1), min(self.y1, other.y1))

    def within(self, outer: Window) -> tuple[slice, slice]:
        """This window's rows and columns as slices of the array covering ``outer``."""
        return (slice(self.y0 - outer.y0, self.y1 - outer.y0), slice(self.x0 - outer.x0, self.x1 - outer.x0))


def window_for(bounds: Box, width: int, height: int) -> Window:
    """The canvas pixels that ``bounds`` touches, padded by one pixel for anti-aliasing, clipped."""
    x0, y0, x1, y1 = bounds
    return Window(
        max(int(np.floor(x0)) - 1, 0),
        max(int(np.floor(y0)) - 1, 0),
        min(int(np.ceil(x1)) + 1, width),
        min(int(np.ceil(y1)) + 1, height),
    )


def edge(signed_distance: Grid) -> Grid:
    """Coverage from a signed distance in pixels (negative inside): a one-pixel anti-aliased edge."""
    coverage: Grid = np.clip(np.float32(0.5) - signed_distance, 0.0, 1.0).astype(np.float32, copy=False)
    return coverage


def circle_distance(ys: Grid, xs: Grid, centre: Point, radius: float) -> Grid:
    """Signed distance to a circle."""
    dx = xs - np.float32(centre[0])
    dy = ys - np.float32(centre[1])
    distance: Grid = np.sqrt(dx * dx + dy * dy) - np.float32(radius)
    return distance


def segment_distance(ys: Grid, xs: Grid, start: Point, end: Point) -> Grid:
    """Unsigned distance to the segment from ``start`` to ``end``."""
    ex, ey = end[0] - start[0], end[1] - start[1]
    length2 = max(ex * ex + ey * ey, 1e-9)
    px = xs - np.float32(start[0])
    py = ys - np.float32(start[1])
    t = np.clip((px * np.float32(ex) + py * np.float32(ey)) / np.float32(length2), 0.0, 1.0)
    dx = px - t * np.float32(ex)
    dy = py - t * np.float32(ey)
    return np.sqrt(dx * dx + dy * dy)


def polygon_distance(ys: Grid, xs: Grid, vertices: tuple[Point, ...]) -> Grid:
    """Approximate signed distance to a convex polygon (the largest of its half-plane distances).

    Vertices may run either way round; exact on the edges, which is all the anti-aliasing needs.
    """
    area2 = 0.0
    for index, (x0, y0) in enumerate(vertices):
        x1, y1 = vertices[(index + 1) % len(vertices)]
        area2 += x0 * y1 - x1 * y0
    orientation = 1.0 if area2 > 0 else -1.0
    result: Grid | None = None
    for index, (x0, y0) in enumerate(vertices):
        x1, y1 = vertices[(index + 1) % len(vertices)]
        nx, ny = (y1 - y0) * orientation, (x0 - x1) * orientation
        norm = max(math.sqrt(nx * nx + ny * ny), 1e-9)
        distance = ((xs - np.float32(x0)) * np.float32(nx / norm)) + ((ys - np.float32(y0)) * np.float32(ny / norm))
        result = distance if result is None else np.maximum(result, distance)
    assert result is not None  # a polygon has edges
    return result


def polygon_bounds(vertices: tuple[Point, ...]) -> Box:
    """The bounding box of some points."""
    xs = [point[0] for point in vertices]
    ys = [point[1] for point in vertices]
    return (min(xs), min(ys), max(xs), max(ys))


def union_bounds(first: Box, second: Box) -> Box:
    """The box around two boxes."""
    return (min(first[0], second[0]), min(first[1], second[1]), max(first[2], second[2]), max(first[3], second[3]))


def composite(canvas: NDArray[np.float32], window: Window, alpha: Grid, colour: NDArray[np.float32]) -> None:
    """Paint ``colour`` ((h, w, 3) or (3,)) over ``canvas`` inside ``window`` with coverage ``alpha`` (h, w)."""
    if window.empty:
        return
    region = canvas[window.y0 : window.y1, window.x0 : window.x1]
    weight = alpha[..., None]
    region += (colour - region) * weight


def rgb(colour: tuple[float, float, float]) -> NDArray[np.float32]:
    """A colour as a float32 (3,) array."""
    return np.array(colour, dtype=np.float32)


def shade(colour: NDArray[np.float32], light: Grid) -> NDArray[np.float32]:
    """``colour`` (3,) times a per-pixel ``light`` (h, w): an (h, w, 3) field."""
    return light[..., None] * colour
