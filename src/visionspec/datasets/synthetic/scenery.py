"""Backgrounds (sky, park, beach, city, indoor walls) and the things that hide balloons (clouds, foliage, posts)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.synthetic.palette import Rgb, mix, scale
from visionspec.datasets.synthetic.raster import (
    Box,
    Grid,
    Point,
    circle_distance,
    composite,
    edge,
    polygon_bounds,
    polygon_distance,
    rgb,
)
from visionspec.datasets.synthetic.shapes import Shape, canvas_window

SCENES = ("sky", "park", "beach", "city", "indoor")
_SCENE_WEIGHTS = (0.28, 0.26, 0.12, 0.14, 0.2)


@dataclass(frozen=True)
class Backdrop:
    """The background of a picture and where things may stand.

    Attributes:
        scene: one of ``SCENES`` (recorded as the picture's ``scene`` attribute).
        horizon: the y below which the ground (or the floor, indoors) begins.
        indoor: whether the picture is inside a room.
    """

    scene: str
    horizon: float
    indoor: bool


@dataclass(frozen=True)
class Blobs:
    """Overlapping soft discs: a cloud or a bush; lighter on top."""

    discs: tuple[tuple[Point, float], ...]
    colour: Rgb
    underside: Rgb
    softness: float

    def bounds(self) -> Box:
        """Around every disc."""
        return (
            min(x - r for (x, _), r in self.discs),
            min(y - r for (_, y), r in self.discs),
            max(x + r for (x, _), r in self.discs),
            max(y + r for (_, y), r in self.discs),
        )

    def coverage(self, ys: Grid, xs: Grid) -> Grid:
        """The union of the discs, with a soft edge."""
        distance = circle_distance(ys, xs, *self.discs[0])
        for centre, radius in self.discs[1:]:
            distance = np.minimum(distance, circle_distance(ys, xs, centre, radius))
        coverage: Grid = np.clip(np.float32(0.5) - distance / np.float32(self.softness), 0.0, 1.0)
        return coverage

    def draw(self, canvas: NDArray[np.float32]) -> None:
        """One fill, darker towards the bottom."""
        window = canvas_window(self, canvas)
        if window.empty:
            return
        ys, xs = window.grid()
        top, bottom = self.bounds()[1], self.bounds()[3]
        share = np.clip((ys - np.float32(top)) / np.float32(max(bottom - top, 1.0)), 0.0, 1.0)
        paint = rgb(self.colour) + (rgb(self.underside) - rgb(self.colour)) * share[..., None]
        composite(canvas, window, self.coverage(ys, xs), np.broadcast_to(paint, (*np.broadcast(ys, xs).shape, 3)))


@dataclass(frozen=True)
class Post:
    """A straight upright: a post, a pole, a pillar, a tree trunk."""

    corners: tuple[Point, Point, Point, Point]
    colour: Rgb

    def bounds(self) -> Box:
        """The corners."""
        return polygon_bounds(self.corners)

    def coverage(self, ys: Grid, xs: Grid) -> Grid:
        """The quadrilateral."""
        return edge(polygon_distance(ys, xs, self.corners))

    def draw(self, canvas: NDArray[np.float32]) -> None:
        """Flat fill, lit from the left."""
        window = canvas_window(self, canvas)
        if window.empty:
            return
        ys, xs = window.grid()
        left, right = self.bounds()[0], self.bounds()[2]
        share = np.clip((xs - np.float32(left)) / np.float32(max(right - left, 1.0)), 0.0, 1.0)
        paint = rgb(self.colour) * (np.float32(1.1) - np.float32(0.35) * share)[..., None]
        composite(canvas, window, self.coverage(ys, xs), np.broadcast_to(paint, (*np.broadcast(ys, xs).shape, 3)))


def make_cloud(rng: np.random.Generator, centre: Point, size: float) -> Blobs:
    """A cloud about ``size`` pixels wide."""
    discs = []
    for _ in range(int(rng.integers(4, 8))):
        offset = (rng.uniform(-0.38, 0.38) * size, rng.uniform(-0.12, 0.12) * size)
        discs.append(((centre[0] + offset[0], centre[1] + offset[1]), size * rng.uniform(0.14, 0.26)))
    white = rng.uniform(0.86, 1.0)
    return Blobs(
        tuple(discs),
        (white, white, white * 0.99),
        scale((white, white, white), rng.uniform(0.7, 0.88)),
        softness=max(1.5, size * 0.04),
    )


def make_foliage(rng: np.random.Generator, centre: Point, size: float) -> Blobs:
    """A bush or a tree crown about ``size`` pixels wide."""
    discs = []
    for _ in range(int(rng.integers(5, 10))):
        offset = (rng.uniform(-0.35, 0.35) * size, rng.uniform(-0.3, 0.3) * size)
        discs.append(((centre[0] + offset[0], centre[1] + offset[1]), size * rng.uniform(0.14, 0.26)))
    green = (rng.uniform(0.12, 0.3), rng.uniform(0.35, 0.55), rng.uniform(0.1, 0.22))
    return Blobs(tuple(discs), green, scale(green, 0.55), softness=1.0)


def make_post(rng: np.random.Generator, centre_x: float, top: float, bottom: float, width: float) -> Post:
    """An upright ``width`` pixels wide from ``top`` to ``bottom``, slightly leaning."""
    lean = rng.uniform(-0.08, 0.08) * (bottom - top)
    half = width / 2.0
    corners = (
        (centre_x - half + lean, top),
        (centre_x + half + lean, top),
        (centre_x + half, bottom),
        (centre_x - half, bottom),
    )
    shade = rng.uniform(0.25, 0.7)
    colour = mix((shade, shade, shade), (0.45, 0.3, 0.18), rng.random())
    return Post(corners, colour)


def smooth_noise(rng: np.random.Generator, height: int, width: int, cells: int) -> Grid:
    """Low-frequency noise in -1..1, (height, width): random values on a coarse grid, bilinearly enlarged."""
    coarse = rng.uniform(-1.0, 1.0, size=(cells + 1, cells + 1)).astype(np.float32)
    gy = (np.arange(height, dtype=np.float32) + np.float32(0.5)) * np.float32(cells / height)
    gx = (np.arange(width, dtype=np.float32) + np.float32(0.5)) * np.float32(cells / width)
    iy = np.minimum(gy.astype(np.int64), cells - 1)
    ix = np.minimum(gx.astype(np.int64), cells - 1)
    fy = (gy - iy.astype(np.float32))[:, None]
    fx = (gx - ix.astype(np.float32))[None, :]
    rows = coarse[:, ix] * (np.float32(1.0) - fx) + coarse[:, ix + 1] * fx
    noise: Grid = rows[iy] * (np.float32(1.0) - fy) + rows[iy + 1] * fy
    return noise


def _vertical(height: int, width: int, top: Rgb, bottom: Rgb, start: float, end: float) -> NDArray[np.float32]:
    """A vertical gradient from ``top`` at row ``start`` to ``bottom`` at row ``end``, (H, W, 3)."""
    ys = np.arange(height, dtype=np.float32)[:, None, None]
    share = np.clip((ys - np.float32(start)) / np.float32(max(end - start, 1.0)), 0.0, 1.0)
    column = rgb(top) + (rgb(bottom) - rgb(top)) * share
    return np.ascontiguousarray(np.broadcast_to(column, (height, width, 3)))


_SKIES: tuple[tuple[Rgb, Rgb], ...] = (
    ((0.22, 0.45, 0.85), (0.66, 0.8, 0.95)),
    ((0.1, 0.3, 0.7), (0.45, 0.65, 0.9)),
    ((0.6, 0.64, 0.7), (0.82, 0.84, 0.86)),
    ((0.25, 0.28, 0.55), (0.95, 0.62, 0.45)),
    ((0.35, 0.55, 0.8), (0.9, 0.88, 0.8)),
)
_WALLS: tuple[Rgb, ...] = (
    (0.85, 0.8, 0.7),
    (0.92, 0.92, 0.9),
    (0.7, 0.8, 0.88),
    (0.92, 0.75, 0.78),
    (0.75, 0.85, 0.7),
    (0.6, 0.6, 0.62),
    (0.93, 0.87, 0.6),
    (0.6, 0.2, 0.2),
    (0.85, 0.55, 0.35),
)


def paint_backdrop(
    rng: np.random.Generator, width: int, height: int
) -> tuple[NDArray[np.float32], Backdrop, list[Shape]]:
    """A random background: the canvas (H, W, 3), where the ground begins, and distant things to draw on it."""
    scene = SCENES[int(rng.choice(len(SCENES), p=np.array(_SCENE_WEIGHTS)))]
    if scene == "indoor":
        return _indoor(rng, width, height)
    horizon = height * (1.05 if scene == "sky" else rng.uniform(0.55, 0.85))
    top, bottom = _SKIES[int(rng.integers(len(_SKIES)))]
    canvas = _vertical(height, width, top, bottom, 0.0, horizon)
    canvas += (smooth_noise(rng, height, width, 4) * np.float32(0.025))[..., None]
    far: list[Shape] = [
        make_cloud(rng, (rng.uniform(0, width), rng.uniform(0, horizon * 0.8)), rng.uniform(0.2, 0.6) * width)
        for _ in range(int(rng.integers(0, 5)))
    ]
    if scene != "sky":
        _GROUNDS[scene](rng, canvas, horizon, far)
    return canvas, Backdrop(scene, horizon, indoor=False), far


def _ground_line(rng: np.random.Generator, width: int, horizon: float) -> Grid:
    """A gently uneven horizon, (1, W)."""
    knots = np.linspace(0.0, width, 6)
    heights = horizon + rng.uniform(-0.04, 0.04, size=6) * width
    return np.interp(np.arange(width, dtype=np.float64) + 0.5, knots, heights).astype(np.float32)[None, :]


def _fill_below(canvas: NDArray[np.float32], line: Grid, colour: Rgb, texture: Grid) -> None:
    """Paint everything below ``line`` (1, W) with ``colour`` modulated by ``texture`` (H, W)."""
    first = max(int(np.floor(line.min())) - 1, 0)
    if first >= canvas.shape[0]:
        return
    ys = np.arange(first, canvas.shape[0], dtype=np.float32)[:, None] + np.float32(0.5)
    below = edge(line - ys)[..., None]
    region = canvas[first:]
    paint = (np.float32(1.0) + texture[first:])[..., None] * rgb(colour)
    region += (paint - region) * below


def _park(rng: np.random.Generator, canvas: NDArray[np.float32], horizon: float, far: list[Shape]) -> None:
    height, width = canvas.shape[:2]
    for _ in range(int(rng.integers(1, 5))):
        x = rng.uniform(0, width)
        size = rng.uniform(0.15, 0.4) * width
        far.append(make_post(rng, x, horizon - size * 0.3, horizon + 4.0, size * 0.08))
        far.append(make_foliage(rng, (x, horizon - size * 0.5), size))
    grass = (rng.uniform(0.2, 0.4), rng.uniform(0.45, 0.65), rng.uniform(0.15, 0.3))
    _fill_below(
        canvas, _ground_line(rng, width, horizon), grass, smooth_noise(rng, height, width, 12) * np.float32(0.12)
    )


def _beach(rng: np.random.Generator, canvas: NDArray[np.float32], horizon: float, far: list[Shape]) -> None:
    height, width = canvas.shape[:2]
    sea_line = np.full((1, width), horizon, dtype=np.float32)
    _fill_below(canvas, sea_line, (0.15, 0.4, 0.6), smooth_noise(rng, height, width, 16) * np.float32(0.08))
    sand = _ground_line(rng, width, horizon + (height - horizon) * rng.uniform(0.3, 0.6))
    _fill_below(canvas, sand, (0.86, 0.78, 0.58), smooth_noise(rng, height, width, 10) * np.float32(0.06))


def _city(rng: np.random.Generator, canvas: NDArray[np.float32], horizon: float, far: list[Shape]) -> None:
    height, width = canvas.shape[:2]
    x = -rng.uniform(0, 20)
    while x < width:
        wide = rng.uniform(0.12, 0.3) * width
        top = horizon - rng.uniform(0.1, 0.5) * height
        shade = rng.uniform(0.3, 0.75)
        colour = mix((shade, shade, shade), (0.6, 0.4, 0.3), rng.random() * 0.6)
        far.append(Post(((x, top), (x + wide, top), (x + wide, horizon + 2.0), (x, horizon + 2.0)), colour))
        x += wide + rng.uniform(-2.0, 6.0)
    road = np.full((1, width), horizon, dtype=np.float32)
    _fill_below(canvas, road, (0.38, 0.38, 0.4), smooth_noise(rng, height, width, 10) * np.float32(0.05))


_GROUNDS = {"park": _park, "beach": _beach, "city": _city}


def _indoor(rng: np.random.Generator, width: int, height: int) -> tuple[NDArray[np.float32], Backdrop, list[Shape]]:
    floor = height * rng.uniform(0.68, 0.9)
    wall = _WALLS[int(rng.integers(len(_WALLS)))]
    canvas = _vertical(height, width, wall, scale(wall, rng.uniform(0.75, 0.95)), 0.0, floor)
    texture = smooth_noise(rng, height, width, 6) * np.float32(0.03)
    if rng.random() < 0.35:
        xs = np.arange(width, dtype=np.float32)[None, :]
        period = np.float32(rng.uniform(10.0, 28.0))
        stripes = ((xs % period) < period * np.float32(0.5)).astype(np.float32) * np.float32(rng.uniform(0.04, 0.1))
        texture = texture - stripes
    canvas *= (np.float32(1.0) + texture)[..., None]
    far: list[Shape] = []
    if rng.random() < 0.5:
        left, top = rng.uniform(0, width * 0.7), rng.uniform(0.05, 0.3) * height
        right, bottom = left + rng.uniform(0.2, 0.35) * width, top + rng.uniform(0.2, 0.35) * height
        frame = rgb(scale(wall, 0.6)) if rng.random() < 0.5 else rgb((0.95, 0.95, 0.95))
        far.append(
            Post(
                ((left - 2, top - 2), (right + 2, top - 2), (right + 2, bottom + 2), (left - 2, bottom + 2)),
                (float(frame[0]), float(frame[1]), float(frame[2])),
            )
        )
        far.append(Post(((left, top), (right, top), (right, bottom), (left, bottom)), _SKIES[int(rng.integers(3))][1]))
    floor_colour = (rng.uniform(0.35, 0.6), rng.uniform(0.22, 0.4), rng.uniform(0.12, 0.25))
    line = np.full((1, width), floor, dtype=np.float32)
    _fill_below(canvas, line, floor_colour, smooth_noise(rng, height, width, 14) * np.float32(0.08))
    return canvas, Backdrop("indoor", floor, indoor=True), far
