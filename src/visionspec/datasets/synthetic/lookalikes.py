"""Round things that are not balloons: balls, suns, round signs, kites, apples, bubbles.

Each is drawn at balloon sizes and, except bubbles, often in red, so that a detector has to learn the
balloon's shape (egg, knot, string, gloss) rather than "a round red blob".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.synthetic.palette import Rgb, mix, paint, scale
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
    segment_distance,
    union_bounds,
)
from visionspec.datasets.synthetic.shapes import (
    Shape,
    add_white,
    canvas_window,
    draw_polyline,
    hanging_line,
    highlight,
    polyline_bounds,
    sphere_light,
)

LOOKALIKE_KINDS = ("ball", "sun", "sign", "kite", "apple", "bubble")
RED_KINDS = ("ball", "sun", "sign", "kite", "apple")
_WHITE: Rgb = (0.96, 0.96, 0.95)


def _circle_box(centre: Point, radius: float) -> Box:
    return (centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius)


def _unit(ys: Grid, xs: Grid, centre: Point, radius: float) -> tuple[Grid, Grid]:
    u, v = np.broadcast_arrays(
        (xs - np.float32(centre[0])) / np.float32(radius), (ys - np.float32(centre[1])) / np.float32(radius)
    )
    return u, v


@dataclass(frozen=True)
class Ball:
    """A matte sphere, plain, with a band (beach ball) or with seams (basketball)."""

    centre: Point
    radius: float
    colour: Rgb
    pattern: str
    second: Rgb
    band_angle: float

    def bounds(self) -> Box:
        """The disc."""
        return _circle_box(self.centre, self.radius)

    def coverage(self, ys: Grid, xs: Grid) -> Grid:
        """The disc."""
        return edge(circle_distance(ys, xs, self.centre, self.radius))

    def draw(self, canvas: NDArray[np.float32]) -> None:
        """Shaded disc with its pattern and a broad, weak highlight."""
        window = canvas_window(self, canvas)
        if window.empty:
            return
        ys, xs = window.grid()
        u, v = _unit(ys, xs, self.centre, self.radius)
        paint_field = sphere_light(u, v, 0.28, 0.82)[..., None] * rgb(self.colour)
        if self.pattern == "band":
            across = np.abs(u * np.float32(math.cos(self.band_angle)) + v * np.float32(math.sin(self.band_angle)))
            band = edge((across - np.float32(0.3)) * np.float32(self.radius))
            paint_field += (sphere_light(u, v, 0.28, 0.82)[..., None] * rgb(self.second) - paint_field) * band[
                ..., None
            ]
        elif self.pattern == "seams":
            seam = np.minimum(np.abs(u), np.abs(v - np.float32(0.25) * u * u)) * np.float32(self.radius)
            lines = edge(seam - np.float32(max(0.5, 0.04 * self.radius)))
            paint_field *= (np.float32(1.0) - np.float32(0.75) * lines)[..., None]
        paint_field = add_white(
            np.minimum(paint_field, np.float32(1.0)), highlight(u, v, (-0.35, -0.4), (0.45, 0.45), 0.35)
        )
        composite(canvas, window, self.coverage(ys, xs), paint_field)


@dataclass(frozen=True)
class Sun:
    """A flat bright disc with a glow; red and orange when low."""

    centre: Point
    radius: float
    colour: Rgb

    def bounds(self) -> Box:
        """The glow."""
        return _circle_box(self.centre, 2.0 * self.radius)

    def coverage(self, ys: Grid, xs: Grid) -> Grid:
        """The disc (the glow hides nothing)."""
        return edge(circle_distance(ys, xs, self.centre, self.radius))

    def draw(self, canvas: NDArray[np.float32]) -> None:
        """Glow, then the disc, lighter in the middle."""
        window = canvas_window(self, canvas)
        if window.empty:
            return
        ys, xs = window.grid()
        u, v = _unit(ys, xs, self.centre, 2.0 * self.radius)
        glow = np.clip(np.float32(1.0) - u * u - v * v, 0.0, 1.0)
        composite(canvas, window, glow * glow * np.float32(0.5), rgb(mix(self.colour, _WHITE, 0.3)))
        centre_light = np.float32(0.3) * np.clip(np.float32(1.0) - np.float32(4.0) * (u * u + v * v), 0.0, 1.0)
        composite(
            canvas,
            window,
            self.coverage(ys, xs),
            add_white(np.broadcast_to(rgb(self.colour), (*u.shape, 3)), centre_light),
        )


@dataclass(frozen=True)
class Sign:
    """A round traffic sign on a pole (no entry, prohibition, mandatory) or a round wall clock."""

    centre: Point
    radius: float
    style: str
    pole_bottom: float | None

    def _pole(self) -> tuple[Point, ...] | None:
        if self.pole_bottom is None:
            return None
        half = max(1.0, 0.09 * self.radius)
        x, y = self.centre
        return ((x - half, y), (x + half, y), (x + half, self.pole_bottom), (x - half, self.pole_bottom))

    def bounds(self) -> Box:
        """Disc and pole."""
        pole = self._pole()
        disc = _circle_box(self.centre, self.radius)
        return disc if pole is None else union_bounds(disc, polygon_bounds(pole))

    def coverage(self, ys: Grid, xs: Grid) -> Grid:
        """Disc and pole."""
        disc = edge(circle_distance(ys, xs, self.centre, self.radius))
        pole = self._pole()
        return disc if pole is None else np.maximum(disc, edge(polygon_distance(ys, xs, pole)))

    def draw(self, canvas: NDArray[np.float32]) -> None:
        """Pole, rim, face, symbol."""
        window = canvas_window(self, canvas)
        if window.empty:
            return
        ys, xs = window.grid()
        pole = self._pole()
        if pole is not None:
            composite(canvas, window, edge(polygon_distance(ys, xs, pole)), rgb((0.55, 0.56, 0.58)))
        rim, face, mark = _SIGN_COLOURS[self.style]
        composite(canvas, window, edge(circle_distance(ys, xs, self.centre, self.radius)), rgb(rim))
        composite(canvas, window, edge(circle_distance(ys, xs, self.centre, self.radius * 0.8)), rgb(face))
        composite(canvas, window, self._symbol(ys, xs), rgb(mark))

    def _symbol(self, ys: Grid, xs: Grid) -> Grid:
        x, y = self.centre
        r = self.radius
        if self.style == "no-entry":
            return edge(
                polygon_distance(
                    ys,
                    xs,
                    (
                        (x - 0.6 * r, y - 0.15 * r),
                        (x + 0.6 * r, y - 0.15 * r),
                        (x + 0.6 * r, y + 0.15 * r),
                        (x - 0.6 * r, y + 0.15 * r),
                    ),
                )
            )
        if self.style == "prohibition":
            diagonal = segment_distance(ys, xs, (x - 0.56 * r, y - 0.56 * r), (x + 0.56 * r, y + 0.56 * r))
            return edge(diagonal - np.float32(0.1 * r))
        if self.style == "mandatory":
            return edge(
                polygon_distance(ys, xs, ((x, y - 0.55 * r), (x + 0.45 * r, y + 0.1 * r), (x - 0.45 * r, y + 0.1 * r)))
            )
        hands = np.minimum(
            segment_distance(ys, xs, (x, y), (x, y - 0.6 * r)), segment_distance(ys, xs, (x, y), (x + 0.45 * r, y))
        )
        return edge(hands - np.float32(max(0.5, 0.05 * r)))


# style: (rim, face, symbol)
_SIGN_COLOURS: dict[str, tuple[Rgb, Rgb, Rgb]] = {
    "no-entry": ((0.8, 0.08, 0.1), (0.82, 0.1, 0.12), _WHITE),
    "prohibition": ((0.8, 0.08, 0.1), _WHITE, (0.8, 0.08, 0.1)),
    "mandatory": (_WHITE, (0.1, 0.3, 0.75), _WHITE),
    "clock": ((0.15, 0.15, 0.15), (0.95, 0.95, 0.92), (0.1, 0.1, 0.1)),
}


@dataclass(frozen=True)
class Kite:
    """A two-tone diamond kite with spars, a tail of bows and a line to the ground."""

    sail: tuple[Point, Point, Point, Point]
    colour: Rgb
    second: Rgb
    tail: tuple[Point, ...]
    line: tuple[Point, ...]

    def bounds(self) -> Box:
        """Sail, tail and line."""
        return union_bounds(
            polygon_bounds(self.sail), union_bounds(polyline_bounds(self.tail, 2.0), polyline_bounds(self.line, 1.0))
        )

    def coverage(self, ys: Grid, xs: Grid) -> Grid:
        """The sail."""
        return edge(polygon_distance(ys, xs, self.sail))

    def draw(self, canvas: NDArray[np.float32]) -> None:
        """Line and tail, then the two halves of the sail and its spars."""
        draw_polyline(canvas, self.line, 0.45, rgb((0.85, 0.85, 0.85)), 0.8)
        draw_polyline(canvas, self.tail, 0.7, rgb(self.second), 0.9)
        window = canvas_window(self, canvas)
        if window.empty:
            return
        ys, xs = window.grid()
        top, right, bottom, left = self.sail
        composite(canvas, window, edge(polygon_distance(ys, xs, (top, right, bottom))), rgb(self.colour))
        composite(canvas, window, edge(polygon_distance(ys, xs, (top, bottom, left))), rgb(self.second))
        spars = np.minimum(segment_distance(ys, xs, top, bottom), segment_distance(ys, xs, left, right))
        composite(canvas, window, edge(spars - np.float32(0.5)) * np.float32(0.8), rgb((0.3, 0.22, 0.15)))


@dataclass(frozen=True)
class Apple:
    """An apple: two overlapping discs with a dimple, a stem and a leaf."""

    centre: Point
    radius: float
    colour: Rgb

    def _leaf(self) -> tuple[Point, ...]:
        x, y = self.centre
        r = self.radius
        return (
            (x + 0.05 * r, y - 0.95 * r),
            (x + 0.35 * r, y - 1.25 * r),
            (x + 0.75 * r, y - 1.2 * r),
            (x + 0.45 * r, y - 0.95 * r),
        )

    def bounds(self) -> Box:
        """Fruit, stem and leaf."""
        x, y = self.centre
        r = self.radius
        return (x - 1.05 * r, y - 1.3 * r, x + 1.05 * r, y + 0.95 * r)

    def _fruit(self, ys: Grid, xs: Grid) -> Grid:
        x, y = self.centre
        r = self.radius
        left = circle_distance(ys, xs, (x - 0.15 * r, y), 0.9 * r)
        right = circle_distance(ys, xs, (x + 0.15 * r, y), 0.9 * r)
        dimple = np.float32(0.25 * r) - circle_distance(ys, xs, (x, y - 0.95 * r), 0.0)
        return edge(np.maximum(np.minimum(left, right), dimple))

    def coverage(self, ys: Grid, xs: Grid) -> Grid:
        """The fruit."""
        return self._fruit(ys, xs)

    def draw(self, canvas: NDArray[np.float32]) -> None:
        """Stem, leaf, shaded fruit with a soft highlight."""
        window = canvas_window(self, canvas)
        if window.empty:
            return
        ys, xs = window.grid()
        x, y = self.centre
        r = self.radius
        stem = segment_distance(ys, xs, (x, y - 0.7 * r), (x + 0.1 * r, y - 1.2 * r))
        composite(canvas, window, edge(stem - np.float32(max(0.5, 0.06 * r))), rgb((0.35, 0.22, 0.1)))
        composite(canvas, window, edge(polygon_distance(ys, xs, self._leaf())), rgb((0.25, 0.55, 0.15)))
        u, v = _unit(ys, xs, self.centre, self.radius)
        paint_field = sphere_light(u, v, 0.35, 0.75)[..., None] * rgb(self.colour)
        paint_field = add_white(
            np.minimum(paint_field, np.float32(1.0)), highlight(u, v, (-0.4, -0.3), (0.3, 0.3), 0.45)
        )
        composite(canvas, window, self._fruit(ys, xs), paint_field)


@dataclass(frozen=True)
class Bubble:
    """A soap bubble: nearly transparent, with an iridescent rim and a window reflection."""

    centre: Point
    radius: float

    def bounds(self) -> Box:
        """The disc."""
        return _circle_box(self.centre, self.radius)

    def coverage(self, ys: Grid, xs: Grid) -> Grid:
        """Only the faint film: a bubble hides little."""
        return edge(circle_distance(ys, xs, self.centre, self.radius)) * np.float32(0.15)

    def draw(self, canvas: NDArray[np.float32]) -> None:
        """Film, rainbow rim, reflection."""
        window = canvas_window(self, canvas)
        if window.empty:
            return
        ys, xs = window.grid()
        u, v = _unit(ys, xs, self.centre, self.radius)
        distance = circle_distance(ys, xs, self.centre, self.radius)
        inside = edge(distance)
        rim = np.clip(np.float32(1.0) + distance / np.float32(max(1.5, 0.18 * self.radius)), 0.0, 1.0) * inside
        rainbow = np.stack([0.6 + 0.4 * u, 0.6 + 0.4 * v, 0.6 - 0.4 * u], axis=-1).astype(np.float32)
        composite(canvas, window, inside * np.float32(0.12) + rim * np.float32(0.5), np.clip(rainbow, 0.0, 1.0))
        composite(canvas, window, highlight(u, v, (-0.4, -0.45), (0.22, 0.16), 0.9), rgb(_WHITE))


def make_lookalike(
    rng: np.random.Generator, kind: str, centre: Point, size: float, *, red: bool, ground: float | None, height: int
) -> Shape:
    """A look-alike of ``kind`` about ``size`` pixels across; ``ground`` is where poles stand (``None``: indoors)."""
    radius = size / 2.0
    if kind == "ball":
        return _ball(rng, centre, radius, red)
    if kind == "sun":
        colour = paint(rng, "red") if red else mix(paint(rng, "yellow"), paint(rng, "orange"), rng.random())
        return Sun(centre, radius, scale(colour, 1.15))
    if kind == "sign":
        return _sign(rng, centre, radius, red, ground, height)
    if kind == "kite":
        return _kite(rng, centre, size, red, height)
    if kind == "apple":
        name = "red" if red else str(rng.choice(["green", "yellow", "orange"]))
        return Apple(centre, radius, paint(rng, name))
    return Bubble(centre, radius)


_BALL_COLOURS = ("orange", "yellow", "green", "blue", "purple", "pink", "white")


def _ball(rng: np.random.Generator, centre: Point, radius: float, red: bool) -> Ball:
    name = "red" if red else str(rng.choice(_BALL_COLOURS))
    second = str(rng.choice(["white", "yellow", "blue"]))
    pattern = str(rng.choice(["plain", "plain", "band", "seams"]))
    return Ball(centre, radius, paint(rng, name), pattern, paint(rng, second), rng.uniform(0.0, math.pi))


def _sign(rng: np.random.Generator, centre: Point, radius: float, red: bool, ground: float | None, height: int) -> Sign:
    style = str(rng.choice(["no-entry", "prohibition"] if red else ["mandatory", "clock"]))
    if style == "clock" or ground is None:
        return Sign(centre, radius, style, None)
    return Sign(centre, radius, style, min(max(ground, centre[1] + 2.0 * radius), float(height) + 1.0))


def _kite(rng: np.random.Generator, centre: Point, size: float, red: bool, height: int) -> Kite:
    angle = rng.uniform(-0.5, 0.5)
    cos, sin = math.cos(angle), math.sin(angle)
    half = size / 2.0

    def place(local_x: float, local_y: float) -> Point:
        return (centre[0] + cos * local_x - sin * local_y, centre[1] + sin * local_x + cos * local_y)

    sail = (
        place(0.0, -0.9 * half),
        place(0.7 * half, -0.25 * half),
        place(0.0, 1.1 * half),
        place(-0.7 * half, -0.25 * half),
    )
    colour = paint(rng, "red") if red else paint(rng, str(rng.choice(_BALL_COLOURS)))
    second = paint(rng, str(rng.choice(["yellow", "white", "blue", "green"])))
    tail = hanging_line(rng, sail[2], size * rng.uniform(0.8, 1.6), sway=half * 0.6, steps=5)
    reach = height - centre[1]
    line = ((centre[0], centre[1]), (centre[0] + rng.uniform(-1.0, 1.0) * reach, float(height) + 2.0))
    return Kite(sail, colour, second, tail, line)
