"""Composing one picture: where balloons, look-alikes and occluders go, and what each balloon's facts are.

Things are placed back to front. Every balloon keeps a mask of its body and of what has been put in
front of it, so that nothing placed later may hide more than ``max_hidden`` of any balloon (a
look-alike that would is moved behind everything instead), and the ``occluded`` fact is measured
from the same coverage that is drawn, not guessed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.synthetic.balloon import Balloon, make_balloon
from visionspec.datasets.synthetic.lookalikes import LOOKALIKE_KINDS, RED_KINDS, make_lookalike
from visionspec.datasets.synthetic.palette import paint
from visionspec.datasets.synthetic.params import WorldParams
from visionspec.datasets.synthetic.plan import PicturePlan
from visionspec.datasets.synthetic.raster import Box, Window, window_for
from visionspec.datasets.synthetic.scenery import Backdrop, make_cloud, make_foliage, make_post, paint_backdrop
from visionspec.datasets.synthetic.shapes import Shape

# a body pixel counts as hidden where things in front cover more than half of it
_SOLID = 0.5
# balloons no wider than this are "small" (box area under 32 x 32 with height and knot)
_SMALL_WIDTH = 25.0
_TRIES = 8


@dataclass
class _Tracked:
    """A placed balloon: its body mask and what covers it (mutable while composing)."""

    balloon: Balloon
    colour: str
    window: Window
    body: NDArray[np.bool_]
    covered: NDArray[np.bool_]

    def hidden_with(self, shape: Shape | None) -> float:
        """Share of the in-picture body hidden, with ``shape`` put in front as well."""
        covered = self.covered if shape is None else self.covered | _solid(shape, self.window)
        return float((self.body & covered).sum()) / max(float(self.body.sum()), 1.0)


@dataclass(frozen=True)
class BalloonFacts:
    """What the annotation says about one balloon.

    Attributes:
        colour: the paint colour's name.
        box: the body and knot clipped to the picture, ``x0, y0, x1, y1``.
        hidden: share of the in-picture body hidden by things in front.
        truncated: whether the body is cut by the picture's border.
    """

    colour: str
    box: Box
    hidden: float
    truncated: bool


@dataclass(frozen=True)
class Scene:
    """A composed picture, ready to draw.

    Attributes:
        canvas: the background, (H, W, 3) float32 in 0..1.
        backdrop: the scene kind and where the ground begins.
        drawing: everything to draw over the background, back to front.
        balloons: the facts of each balloon, in drawing order.
        lookalikes: the kinds of look-alike in the picture (with repeats).
        red_lookalike: whether a red look-alike is in the picture.
    """

    canvas: NDArray[np.float32]
    backdrop: Backdrop
    drawing: tuple[Shape, ...]
    balloons: tuple[BalloonFacts, ...]
    lookalikes: tuple[str, ...]
    red_lookalike: bool


def _solid(shape: Shape, window: Window) -> NDArray[np.bool_]:
    """Where ``shape`` hides the pixels of ``window`` (a bool array of the window's size)."""
    mask = np.zeros((window.y1 - window.y0, window.x1 - window.x0), dtype=bool)
    x0, y0, x1, y1 = shape.bounds()
    overlap = window.intersect(Window(math.floor(x0) - 1, math.floor(y0) - 1, math.ceil(x1) + 1, math.ceil(y1) + 1))
    if not overlap.empty:
        ys, xs = overlap.grid()
        mask[overlap.within(window)] = shape.coverage(ys, xs) > _SOLID
    return mask


@dataclass
class _Composer:
    """Places the content of one picture (used once, by ``compose``)."""

    rng: np.random.Generator
    params: WorldParams
    backdrop: Backdrop
    far: list[Shape]
    middle: list[Shape] = field(default_factory=list)
    front: list[Shape] = field(default_factory=list)
    tracked: list[_Tracked] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    @property
    def size(self) -> tuple[int, int]:
        return self.params.width, self.params.height

    def hides_too_much(self, shape: Shape, spare: _Tracked | None = None) -> bool:
        """Whether ``shape`` in front would hide more than allowed of any placed balloon."""
        return any(item is not spare and item.hidden_with(shape) > self.params.max_hidden for item in self.tracked)

    def commit(self, shape: Shape, layer: list[Shape]) -> None:
        """Put ``shape`` in front of every balloon placed so far."""
        for item in self.tracked:
            item.covered |= _solid(shape, item.window)
        layer.append(shape)

    def balloon_width(self) -> float:
        """A body width: small with chance ``small_fraction``, else log-uniform up to the largest."""
        if self.rng.random() < self.params.small_fraction:
            return self.rng.uniform(self.params.min_size, _SMALL_WIDTH)
        largest = self.params.max_size * min(self.size)
        low = min(_SMALL_WIDTH + 1.0, largest)
        return math.exp(self.rng.uniform(math.log(low), math.log(largest)))

    def balloon_position(self, box: Box, truncate: bool) -> tuple[float, float]:
        """Where to move a balloon whose box is ``box`` (around 0, 0): inside, or across one border."""
        width, height = self.size
        x0, y0, x1, y1 = box
        x = self.rng.uniform(1.0 - x0, max(width - 1.0 - x1, 1.0 - x0))
        y = self.rng.uniform(1.0 - y0, max(height - 1.0 - y1, 1.0 - y0))
        if truncate:
            outside = self.rng.uniform(0.15, 0.5)
            side = int(self.rng.integers(4))
            if side == 0:
                x = -x0 - outside * (x1 - x0)
            elif side == 1:
                x = width - x1 + outside * (x1 - x0)
            elif side == 2:
                y = -y0 - outside * (y1 - y0)
            else:
                y = height - y1 + outside * (y1 - y0)
        return x, y

    def place_balloon(self, colour: str) -> None:
        """Add one balloon in front of everything so far, hiding no earlier balloon too much."""
        truncate = self.rng.random() < self.params.truncation_rate
        shade = paint(self.rng, colour)
        width = self.balloon_width()
        best: tuple[float, Balloon] | None = None
        for attempt in range(3 * _TRIES):
            if attempt and attempt % _TRIES == 0:
                width = max(self.params.min_size, width * 0.7)
            shape = make_balloon(self.rng, (0.0, 0.0), width, shade)
            shape = shape.moved(*self.balloon_position(shape.box(), truncate))
            worst = max((item.hidden_with(shape) for item in self.tracked), default=0.0)
            if best is None or worst < best[0]:
                best = (worst, shape)
            if worst <= self.params.max_hidden:
                break
        assert best is not None  # at least one attempt ran
        self.track(best[1], colour)

    def track(self, shape: Balloon, colour: str) -> None:
        """Record a balloon's body mask and put it in front."""
        width, height = self.size
        window = window_for(shape.box(), width, height)
        body = _solid(shape, window)
        self.commit(shape, self.middle)
        self.tracked.append(_Tracked(shape, colour, window, body, np.zeros_like(body)))

    def lookalike_kind(self, red: bool) -> str:
        """A kind that fits the scene (no suns or kites indoors, one sun at most)."""
        kinds = RED_KINDS if red else LOOKALIKE_KINDS
        allowed = [kind for kind in kinds if not (self.backdrop.indoor and kind in ("sun", "kite"))]
        if "sun" in self.kinds or self.backdrop.horizon < 0.35 * self.size[1]:
            allowed = [kind for kind in allowed if kind != "sun"]
        return str(self.rng.choice(allowed))

    def place_lookalike(self, red: bool) -> None:
        """Add a look-alike; suns go behind the clouds, others in front unless they would hide a balloon."""
        kind = self.lookalike_kind(red)
        self.kinds.append(kind)
        width, height = self.size
        ground = None if self.backdrop.indoor else min(self.backdrop.horizon, float(height))
        sky = max(min(self.backdrop.horizon, float(height)) * 0.8, 0.2 * height)
        for _ in range(_TRIES):
            # tiny look-alikes are left out: a few pixels cannot tell a ball from a balloon
            size = max(self.balloon_width(), self.params.lookalike_min_size) * (1.6 if kind == "kite" else 1.0)
            top = sky if kind in ("sun", "kite") else float(height)
            centre = (self.rng.uniform(0.0, width), self.rng.uniform(0.0, top))
            shape = make_lookalike(self.rng, kind, centre, size, red=red, ground=ground, height=height)
            if kind == "sun":
                self.far.insert(0, shape)
                return
            if not self.hides_too_much(shape):
                self.commit(shape, self.middle)
                return
        self.far.append(shape)

    def occlude(self, target: _Tracked) -> None:
        """Try to hide part of ``target`` behind a cloud, foliage or a post."""
        for _ in range(_TRIES):
            shape = self.occluder(target.balloon)
            hidden = target.hidden_with(shape)
            if 0.12 <= hidden <= self.params.max_hidden and not self.hides_too_much(shape, spare=target):
                self.commit(shape, self.front)
                return

    def occluder(self, balloon: Balloon) -> Shape:
        """An occluder near ``balloon``, of a kind that fits the scene."""
        x0, y0, x1, y1 = balloon.box()
        radius = max(x1 - x0, y1 - y0) / 2.0
        centre = ((x0 + x1) / 2.0, (y0 + y1) / 2.0)
        kind = str(self.rng.choice(_OCCLUDERS[self.backdrop.scene]))
        angle = self.rng.uniform(0.0, 2.0 * math.pi)
        if kind == "post":
            width = radius * self.rng.uniform(0.4, 1.0)
            x = centre[0] + math.cos(angle) * radius * self.rng.uniform(0.3, 1.0)
            return make_post(self.rng, x, centre[1] - radius * self.rng.uniform(1.5, 6.0), self.size[1] + 2.0, width)
        size = 2.0 * radius * self.rng.uniform(0.9, 2.0)
        distance = (radius + size * 0.35) * self.rng.uniform(0.55, 1.0)
        where = (centre[0] + math.cos(angle) * distance, centre[1] + math.sin(angle) * distance)
        return make_cloud(self.rng, where, size) if kind == "cloud" else make_foliage(self.rng, where, size)


_OCCLUDERS = {
    "sky": ("cloud",),
    "park": ("foliage", "foliage", "post", "cloud"),
    "beach": ("post", "cloud"),
    "city": ("post", "post", "cloud"),
    "indoor": ("post", "foliage"),
}


def compose(rng: np.random.Generator, plan: PicturePlan, params: WorldParams) -> Scene:
    """Compose the picture ``plan`` asks for, drawing every free choice from ``rng``.

    Args:
        rng: the picture's own generator (``default_rng([seed, index])``).
        plan: the promised balloons and look-alikes.
        params: sizes and difficulty.

    Returns:
        The background, the shapes to draw back to front, and each balloon's facts.
    """
    canvas, backdrop, far = paint_backdrop(rng, params.width, params.height)
    composer = _Composer(rng, params, backdrop, far)
    reds = [plan.red_lookalike and (index == 0 or rng.random() < 0.3) for index in range(plan.lookalikes)]
    order = [("balloon", colour) for colour in plan.colours] + [("lookalike", red) for red in reds]
    for position in rng.permutation(len(order)):
        what, value = order[position]
        if what == "balloon":
            composer.place_balloon(str(value))
        else:
            composer.place_lookalike(bool(value))
    for item in list(composer.tracked):
        if rng.random() < params.occlusion_rate:
            composer.occlude(item)
    return Scene(
        canvas=canvas,
        backdrop=backdrop,
        drawing=(*composer.far, *composer.middle, *composer.front),
        balloons=tuple(_facts(item, params) for item in composer.tracked),
        lookalikes=tuple(composer.kinds),
        red_lookalike=any(reds),
    )


def _facts(item: _Tracked, params: WorldParams) -> BalloonFacts:
    """The annotation facts of a placed balloon."""
    x0, y0, x1, y1 = item.balloon.box()
    clipped = (max(x0, 0.0), max(y0, 0.0), min(x1, float(params.width)), min(y1, float(params.height)))
    truncated = x0 < 0.0 or y0 < 0.0 or x1 > params.width or y1 > params.height
    return BalloonFacts(item.colour, clipped, item.hidden_with(None), truncated)
