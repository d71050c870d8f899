"""What every drawn thing offers the scene: bounds, coverage (for occlusion) and drawing; shared shading."""

from __future__ import annotations

import itertools
import math
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.synthetic.raster import Box, Grid, Point, Window, composite, edge, segment_distance, window_for

# the light comes from the upper left, towards the viewer (a unit vector)
_LIGHT = (-0.45, -0.55, 0.70)


class Shape(Protocol):
    """Something drawn on the canvas."""

    def bounds(self) -> Box:
        """Everything the shape may paint, in canvas pixels."""
        ...

    def coverage(self, ys: Grid, xs: Grid) -> Grid:
        """0..1 share of each pixel hidden by the shape (thin parts such as strings count as 0)."""
        ...

    def draw(self, canvas: NDArray[np.float32]) -> None:
        """Paint the shape over ``canvas`` (H, W, 3) float32."""
        ...


def canvas_window(shape: Shape, canvas: NDArray[np.float32]) -> Window:
    """The canvas pixels a shape touches."""
    return window_for(shape.bounds(), canvas.shape[1], canvas.shape[0])


def sphere_light(u: Grid, v: Grid, ambient: float, diffuse: float) -> Grid:
    """Lambert shading of a sphere seen head-on, from unit-disc coordinates ``u`` (right) and ``v`` (down)."""
    depth = np.sqrt(np.clip(np.float32(1.0) - u * u - v * v, 0.0, 1.0))
    lambert = np.clip(u * np.float32(_LIGHT[0]) + v * np.float32(_LIGHT[1]) + depth * np.float32(_LIGHT[2]), 0.0, 1.0)
    light: Grid = np.float32(ambient) + np.float32(diffuse) * lambert
    return light


def highlight(u: Grid, v: Grid, centre: Point, size: Point, amount: float) -> Grid:
    """A soft specular spot: ``amount`` at ``centre`` falling to 0 at ``size`` (unit-disc coordinates)."""
    du = (u - np.float32(centre[0])) / np.float32(size[0])
    dv = (v - np.float32(centre[1])) / np.float32(size[1])
    spot = np.clip(np.float32(1.0) - du * du - dv * dv, 0.0, 1.0)
    return spot * spot * np.float32(amount)


def add_white(colour: NDArray[np.float32], amount: Grid) -> NDArray[np.float32]:
    """``colour`` (h, w, 3) moved towards white by ``amount`` (h, w)."""
    return colour + (np.float32(1.0) - colour) * amount[..., None]


def draw_polyline(
    canvas: NDArray[np.float32],
    points: tuple[Point, ...],
    half_width: float,
    colour: NDArray[np.float32],
    opacity: float,
) -> None:
    """A thin anti-aliased line through ``points`` (strings, kite tails, clock hands)."""
    height, width = canvas.shape[:2]
    for start, end in itertools.pairwise(points):
        bounds = (
            min(start[0], end[0]) - half_width,
            min(start[1], end[1]) - half_width,
            max(start[0], end[0]) + half_width,
            max(start[1], end[1]) + half_width,
        )
        window = window_for(bounds, width, height)
        if window.empty:
            continue
        ys, xs = window.grid()
        alpha = edge(segment_distance(ys, xs, start, end) - np.float32(half_width)) * np.float32(opacity)
        composite(canvas, window, alpha, colour)


def polyline_bounds(points: tuple[Point, ...], half_width: float) -> Box:
    """The box around a polyline and its width."""
    xs = [point[0] for point in points]
    ys = [point[1] for point in points]
    return (min(xs) - half_width, min(ys) - half_width, max(xs) + half_width, max(ys) + half_width)


def hanging_line(
    rng: np.random.Generator, start: Point, length: float, sway: float, steps: int = 6
) -> tuple[Point, ...]:
    """A string hanging down from ``start``, swaying sideways by up to ``sway`` pixels."""
    phase = rng.uniform(0.0, 2.0 * math.pi)
    bend = rng.uniform(0.8, 1.6)
    drift = rng.uniform(-0.5, 0.5) * sway
    points = [start]
    for step in range(1, steps + 1):
        share = step / steps
        x = start[0] + sway * share * math.sin(phase + bend * step) + drift * share
        points.append((x, start[1] + length * share))
    return tuple(points)
