"""The balloon: an egg-shaped glossy body, a highlight, a knot and a string.

The annotated box is the body with its knot (the string is not part of the balloon's box), computed
from the same geometry that is drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import cast

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.synthetic.palette import Rgb, scale
from visionspec.datasets.synthetic.raster import (
    Box,
    Grid,
    Point,
    composite,
    edge,
    polygon_bounds,
    polygon_distance,
    rgb,
    union_bounds,
)
from visionspec.datasets.synthetic.shapes import (
    add_white,
    canvas_window,
    draw_polyline,
    hanging_line,
    highlight,
    polyline_bounds,
    sphere_light,
)

_OUTLINE_STEPS = 48


@dataclass(frozen=True)
class Balloon:
    """One balloon, in canvas pixels.

    Attributes:
        centre: body centre.
        half_width: half the body's width before tilting.
        half_height: half the body's height (balloons are taller than wide).
        taper: how much narrower the bottom is than the top (0 is an ellipse).
        tilt: rotation in radians, positive clockwise.
        colour: paint colour, RGB 0..1 (the label is the name it was drawn from).
        gloss: strength of the specular highlight.
        gloss_at: highlight centre in unit-body coordinates.
        string: the string's points, from the knot down.
        string_colour: RGB 0..1.
    """

    centre: Point
    half_width: float
    half_height: float
    taper: float
    tilt: float
    colour: Rgb
    gloss: float
    gloss_at: Point
    string: tuple[Point, ...]
    string_colour: Rgb

    def moved(self, dx: float, dy: float) -> Balloon:
        """The same balloon shifted by ``dx, dy`` pixels."""
        return replace(
            self,
            centre=(self.centre[0] + dx, self.centre[1] + dy),
            string=tuple((x + dx, y + dy) for x, y in self.string),
        )

    def _to_canvas(self, local_x: float, local_y: float) -> Point:
        cos, sin = math.cos(self.tilt), math.sin(self.tilt)
        return (self.centre[0] + cos * local_x - sin * local_y, self.centre[1] + sin * local_x + cos * local_y)

    def knot(self) -> tuple[Point, Point, Point]:
        """The knot's triangle, tip down, just below the body."""
        depth = max(1.2, 0.14 * self.half_height)
        half = max(1.0, 0.16 * self.half_width)
        bottom = self.half_height
        return (
            self._to_canvas(0.0, bottom - 0.4 * depth),
            self._to_canvas(half, bottom + depth),
            self._to_canvas(-half, bottom + depth),
        )

    def box(self) -> Box:
        """The body and knot (not the string), unclipped: the object's extent for its annotation."""
        points = list(self.knot())
        for step in range(_OUTLINE_STEPS):
            angle = 2.0 * math.pi * step / _OUTLINE_STEPS
            v = math.cos(angle)
            u = math.sin(angle) * (1.0 - self.taper * v)
            points.append(self._to_canvas(u * self.half_width, v * self.half_height))
        return polygon_bounds(tuple(points))

    def bounds(self) -> Box:
        """Everything drawn, string included."""
        return union_bounds(self.box(), polyline_bounds(self.string, 1.5))

    def _local(self, ys: Grid, xs: Grid) -> tuple[Grid, Grid]:
        cos, sin = np.float32(math.cos(self.tilt)), np.float32(math.sin(self.tilt))
        dx = xs - np.float32(self.centre[0])
        dy = ys - np.float32(self.centre[1])
        across = (dx * cos + dy * sin) / np.float32(self.half_width)
        down = (dy * cos - dx * sin) / np.float32(self.half_height)
        return cast(Grid, across), cast(Grid, down)

    def _body(self, ys: Grid, xs: Grid) -> tuple[Grid, Grid, Grid]:
        """Body coverage and unit-sphere coordinates (u narrowed by the taper, v)."""
        u, v = self._local(ys, xs)
        narrowing = np.maximum(np.float32(1.0) - np.float32(self.taper) * v, np.float32(0.2))
        un = u / narrowing
        inside = un * un + v * v - np.float32(1.0)
        # signed distance ~ F / |grad F| (pixels), F = (u/w)^2 + v^2 - 1
        grad_u = np.float32(2.0) * un / narrowing / np.float32(self.half_width)
        grad_v = (np.float32(2.0 * self.taper) * un * un / narrowing + np.float32(2.0) * v) / np.float32(
            self.half_height
        )
        gradient = np.maximum(np.sqrt(grad_u * grad_u + grad_v * grad_v), np.float32(1e-3))
        return edge(inside / gradient), un, v

    def coverage(self, ys: Grid, xs: Grid) -> Grid:
        """Body and knot."""
        body, _, _ = self._body(ys, xs)
        return np.maximum(body, edge(polygon_distance(ys, xs, self.knot())))

    def draw(self, canvas: NDArray[np.float32]) -> None:
        """String, then glossy body, then knot."""
        draw_polyline(canvas, self.string, max(0.5, 0.014 * self.half_height), rgb(self.string_colour), 0.9)
        window = canvas_window(self, canvas)
        if window.empty:
            return
        ys, xs = window.grid()
        body, u, v = self._body(ys, xs)
        glow_u = u / np.float32(0.55)
        glow_v = (v - np.float32(0.5)) / np.float32(0.4)
        glow = np.clip(np.float32(1.0) - glow_u * glow_u - glow_v * glow_v, 0.0, 1.0) * np.float32(0.2)
        light = sphere_light(u, v, 0.42, 0.66) + glow
        paint = np.minimum(light[..., None] * rgb(self.colour), np.float32(1.0))
        paint = add_white(paint, highlight(u, v, self.gloss_at, (0.24, 0.3), self.gloss))
        composite(canvas, window, body, paint)
        knot = edge(polygon_distance(ys, xs, self.knot()))
        composite(canvas, window, knot, rgb(scale(self.colour, 0.72)))


def make_balloon(rng: np.random.Generator, centre: Point, width: float, colour: Rgb) -> Balloon:
    """A balloon of body ``width`` pixels at ``centre`` with random shape, tilt, gloss and string."""
    half_width = width / 2.0
    half_height = half_width * rng.uniform(1.1, 1.28)
    tilt = rng.uniform(-0.3, 0.3)
    knot_depth = max(1.2, 0.14 * half_height)
    cos, sin = math.cos(tilt), math.sin(tilt)
    below = half_height + knot_depth
    start = (centre[0] - sin * below, centre[1] + cos * below)
    length = 2.0 * half_height * rng.uniform(0.9, 2.4)
    string = hanging_line(rng, start, length, sway=half_width * rng.uniform(0.1, 0.6))
    string_colour = (0.92, 0.92, 0.9) if rng.random() < 0.6 else (0.3, 0.3, 0.32)
    return Balloon(
        centre=centre,
        half_width=half_width,
        half_height=half_height,
        taper=rng.uniform(0.08, 0.2),
        tilt=tilt,
        colour=colour,
        gloss=rng.uniform(0.55, 0.95),
        gloss_at=(rng.uniform(-0.48, -0.28), rng.uniform(-0.55, -0.35)),
        string=string,
        string_colour=string_colour,
    )
