"""Single pictures: deterministic bytes, and facts that agree with what is drawn."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from visionspec.datasets.synthetic import PicturePlan, WorldParams, render_picture
from visionspec.datasets.synthetic.balloon import Balloon
from visionspec.datasets.synthetic.raster import Window
from visionspec.datasets.synthetic.scene import Scene, compose

CROWD = WorldParams(images=40, width=320, height=240, occlusion_rate=0.8, truncation_rate=0.4)


def _plan(index: int, colours: tuple[str, ...], lookalikes: int = 2, red: bool = True) -> PicturePlan:
    return PicturePlan(index=index, colours=colours, lookalikes=lookalikes, red_lookalike=red)


def _scene(index: int, params: WorldParams = CROWD) -> Scene:
    plan = _plan(index, ("red", "blue", "pink", "white", "green"))
    return compose(np.random.default_rng([11, index]), plan, params)


def test_same_arguments_give_the_same_bytes() -> None:
    plan = _plan(3, ("red", "orange"))
    first = render_picture(plan, CROWD, seed=11)
    assert render_picture(plan, CROWD, seed=11).jpeg == first.jpeg
    assert render_picture(plan, CROWD, seed=12).jpeg != first.jpeg
    assert render_picture(_plan(4, ("red", "orange")), CROWD, seed=11).jpeg != first.jpeg


def test_picture_is_a_jpeg_of_the_asked_size() -> None:
    picture = render_picture(_plan(0, ("red",)), CROWD, seed=1)
    with Image.open(io.BytesIO(picture.jpeg)) as image:
        assert (image.format, image.size, image.mode) == ("JPEG", (320, 240), "RGB")
    assert set(picture.attributes) == {"scene", "lighting", "lookalikes", "red_lookalike"}
    assert picture.attributes["red_lookalike"] == "yes"


def test_plan_is_kept_colours_and_lookalikes() -> None:
    for index in range(6):
        plan = _plan(index, ("red", "purple", "purple"), lookalikes=2, red=index % 2 == 0)
        picture = render_picture(plan, CROWD, seed=5)
        assert sorted(facts.colour for facts in picture.balloons) == ["purple", "purple", "red"]
        assert picture.attributes["red_lookalike"] == ("yes" if plan.red_lookalike else "no")
        assert picture.attributes["lookalikes"] != "none"
    bare = render_picture(_plan(9, (), lookalikes=0, red=False), CROWD, seed=5)
    assert (bare.balloons, bare.attributes["lookalikes"], bare.attributes["red_lookalike"]) == ((), "none", "no")


def _drawn_alone(balloon: Balloon, width: int, height: int) -> np.ndarray:
    """Where the balloon's body and knot cover more than half a pixel, drawn on an empty canvas."""
    ys, xs = Window(0, 0, width, height).grid()
    return balloon.coverage(ys, xs) > 0.5


@pytest.mark.parametrize("index", range(8))
def test_box_is_the_tight_box_of_the_drawn_body_clipped(index: int) -> None:
    scene = _scene(index)
    balloons = [shape for shape in scene.drawing if isinstance(shape, Balloon)]
    assert len(balloons) == len(scene.balloons) == 5
    for balloon, facts in zip(balloons, scene.balloons, strict=True):
        rows, columns = np.nonzero(_drawn_alone(balloon, 320, 240))
        x0, y0, x1, y1 = facts.box
        assert 0 <= x0 < x1 <= 320 and 0 <= y0 < y1 <= 240
        # every covered pixel lies in the box, and the box does not reach past the covered pixels
        assert columns.min() >= np.floor(x0) and columns.max() + 1 <= np.ceil(x1)
        assert rows.min() >= np.floor(y0) and rows.max() + 1 <= np.ceil(y1)
        assert columns.min() <= x0 + 1.0 and columns.max() + 1 >= x1 - 1.0
        assert rows.min() <= y0 + 1.0 and rows.max() + 1 >= y1 - 1.0


@pytest.mark.parametrize("index", range(8))
def test_truncated_exactly_when_the_body_meets_the_border(index: int) -> None:
    scene = _scene(index)
    for facts in scene.balloons:
        x0, y0, x1, y1 = facts.box
        at_border = x0 <= 0.0 or y0 <= 0.0 or x1 >= 320.0 or y1 >= 240.0
        assert facts.truncated == at_border
        if not facts.truncated:
            # placed with a pixel to spare, so "cut by the border" is never a matter of rounding
            assert x0 >= 1.0 and y0 >= 1.0 and x1 <= 319.0 and y1 <= 239.0


def _visible_share(scene: Scene, target: Balloon) -> float:
    """Share of the target's in-picture body still on top after everything is composited (alpha, not masks)."""
    ys, xs = Window(0, 0, 320, 240).grid()
    body = target.coverage(ys, xs) > 0.5
    ownership = np.zeros((240, 320), dtype=np.float32)
    seen = False
    for shape in scene.drawing:
        if shape is target:
            seen = True
            ownership = np.maximum(ownership, target.coverage(ys, xs))
        elif seen:
            ownership = ownership * (1.0 - shape.coverage(ys, xs))
    return float((body & (ownership > 0.5)).sum()) / float(body.sum())


def test_hidden_share_agrees_with_compositing() -> None:
    checked = 0
    for index in range(10):
        scene = _scene(index)
        balloons = [shape for shape in scene.drawing if isinstance(shape, Balloon)]
        for balloon, facts in zip(balloons, scene.balloons, strict=True):
            assert facts.hidden <= CROWD.max_hidden + 1e-9
            assert abs((1.0 - _visible_share(scene, balloon)) - facts.hidden) < 0.03
            checked += facts.hidden > 0.2
    assert checked >= 5  # the check saw occluded balloons, not only clear ones


def test_without_light_noise_or_blur_the_paint_shows_through() -> None:
    plain = WorldParams(
        images=1, lighting_strength=0.0, noise=(0.0, 0.0), blur=(0.0, 0.0), jpeg_quality=(95, 95), occlusion_rate=0.0
    )
    picture = render_picture(_plan(2, ("red",), lookalikes=0, red=False), plain, seed=1)
    (facts,) = picture.balloons
    x0, y0, x1, y1 = facts.box
    with Image.open(io.BytesIO(picture.jpeg)) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    # the lower middle of the body: below the highlight, away from the outline
    cx, cy = int((x0 + x1) / 2), int(y0 + 0.6 * (y1 - y0))
    red, green, blue = pixels[cy - 1 : cy + 2, cx - 1 : cx + 2].reshape(-1, 3).mean(axis=0)
    assert red > 2.0 * green and red > 2.0 * blue
