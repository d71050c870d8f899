"""The synthetic balloon world: a deterministic generator of balloon pictures among look-alikes.

Pictures of balloons (eight paint colours in varied shades, sizes from about 12 pixels, occluded and
cut by the border) among things that are not balloons (balls, suns, round signs, kites, apples,
bubbles; red ones common), in sky, park, beach, city and indoor scenes, under light that makes
colours confusable (sunset and indoor casts, shade, haze, over-exposure, desaturation), with blur,
noise and JPEG artefacts. The same seed, parameters and library versions give the same bytes.

A data set is built from its ``dataset.yaml`` (``source: {kind: synthetic, generator: balloon-world,
seed, params}``; the parameters and their defaults are ``WorldParams``)::

    visionspec datasets build 12345

or from Python with ``build(spec, folder, workers=2)``.
"""

from __future__ import annotations

from visionspec.datasets.synthetic.build import GENERATOR, OCCLUDED_SHARE, build, build_world, size_bucket, world_of
from visionspec.datasets.synthetic.palette import COLOURS, LIGHTINGS
from visionspec.datasets.synthetic.params import WorldParams, parse_params
from visionspec.datasets.synthetic.plan import PicturePlan, plan_world
from visionspec.datasets.synthetic.render import RenderedPicture, render_picture

__all__ = [
    "COLOURS",
    "GENERATOR",
    "LIGHTINGS",
    "OCCLUDED_SHARE",
    "PicturePlan",
    "RenderedPicture",
    "WorldParams",
    "build",
    "build_world",
    "parse_params",
    "plan_world",
    "render_picture",
    "size_bucket",
    "world_of",
]
