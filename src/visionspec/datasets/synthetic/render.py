"""Turning a composed scene into JPEG bytes: draw, light, blur, add noise, compress."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import cache
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFilter

from visionspec.datasets.synthetic.palette import apply_lighting, sample_lighting
from visionspec.datasets.synthetic.params import WorldParams
from visionspec.datasets.synthetic.plan import PicturePlan
from visionspec.datasets.synthetic.scene import BalloonFacts, compose

# blur below this standard deviation changes nothing visible; skipping it saves time
_LEAST_BLUR = 0.3
# one 3 x 3 pass is a fair Gaussian up to this standard deviation; above it, two passes
_ONE_PASS_BLUR = 0.85


@dataclass(frozen=True)
class RenderedPicture:
    """One finished picture and its facts.

    Attributes:
        index: 0-based position in the data set.
        jpeg: the file's bytes.
        balloons: the facts of each balloon.
        attributes: the picture's facts: ``scene``, ``lighting``, ``lookalikes`` (comma list of
            kinds, ``none`` without), ``red_lookalike`` (``yes``/``no``).
    """

    index: int
    jpeg: bytes
    balloons: tuple[BalloonFacts, ...]
    attributes: dict[str, str]


def render_picture(plan: PicturePlan, params: WorldParams, seed: int) -> RenderedPicture:
    """Draw the picture ``plan`` describes; the same arguments always give the same bytes.

    Args:
        plan: what the picture must hold.
        params: sizes and difficulty.
        seed: the data set's seed; the picture's generator is ``default_rng([seed, plan.index])``.
    """
    rng = np.random.default_rng([seed, plan.index])
    scene = compose(rng, plan, params)
    canvas = scene.canvas
    for shape in scene.drawing:
        shape.draw(canvas)
    lighting = sample_lighting(rng, indoor=scene.backdrop.indoor, strength=params.lighting_strength)
    image = Image.fromarray(apply_lighting(canvas, lighting), "RGB")
    image = _blur(image, rng.uniform(*params.blur))
    pixels = _add_noise(rng, np.asarray(image), rng.uniform(*params.noise))
    buffer = io.BytesIO()
    quality = int(rng.integers(params.jpeg_quality[0], params.jpeg_quality[1] + 1))
    Image.fromarray(pixels, "RGB").save(buffer, format="JPEG", quality=quality)
    attributes = {
        "scene": scene.backdrop.scene,
        "lighting": lighting.kind,
        "lookalikes": ",".join(sorted(set(scene.lookalikes))) or "none",
        "red_lookalike": "yes" if scene.red_lookalike else "no",
    }
    return RenderedPicture(plan.index, buffer.getvalue(), scene.balloons, attributes)


def _blur(image: Image.Image, sigma: float) -> Image.Image:
    """A Gaussian blur of standard deviation ``sigma`` pixels, as one or two 3 x 3 passes.

    Pillow's ``GaussianBlur`` costs three times as much, and these radii need no more than 3 x 3.
    """
    if sigma < _LEAST_BLUR:
        return image
    passes = 1 if sigma <= _ONE_PASS_BLUR else 2
    tail = math.exp(-passes / (2.0 * sigma * sigma))
    side = round(256.0 * tail / (1.0 + 2.0 * tail))  # weights in 1/256 steps: exact in any arithmetic
    weights = (side, 256 - 2 * side, side)
    kernel = ImageFilter.Kernel((3, 3), [a * b for a in weights for b in weights], scale=256 * 256)
    for _ in range(passes):
        image = image.filter(kernel)
    return image


@cache
def _normal_quantiles() -> NDArray[np.float32]:
    """256 equally likely values of a standard normal variable (drawing an index is cheaper than a normal)."""
    unit = NormalDist()
    return np.array([unit.inv_cdf((rank + 0.5) / 256.0) for rank in range(256)], dtype=np.float32)


def _add_noise(rng: np.random.Generator, pixels: NDArray[np.uint8], sigma: float) -> NDArray[np.uint8]:
    """``pixels`` plus Gaussian-like sensor noise of ``sigma`` 8-bit levels, per channel."""
    if sigma <= 0:
        return pixels
    steps = np.rint(_normal_quantiles() * np.float32(sigma)).astype(np.int16)
    noise = steps[rng.integers(0, 256, size=pixels.shape, dtype=np.uint8)]
    noisy: NDArray[np.uint8] = np.clip(pixels.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return noisy
