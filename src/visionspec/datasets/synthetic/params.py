"""The balloon world's parameters (``source.params`` of a synthetic ``dataset.yaml``), validated.

Every key has a default, so ``params: {images: 100}`` is a complete definition. The counts that a
data set promises (pictures with balloons, red balloons, pictures with look-alikes) are assigned by a
seeded permutation, so they hold exactly; everything else is drawn per picture.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from visionspec.datasets.synthetic.palette import COLOURS
from visionspec.errors import DatasetError


@dataclass(frozen=True)
class WorldParams:
    """How a synthetic data set is composed and how hard its pictures are.

    Attributes:
        images: number of pictures.
        width: picture width in pixels.
        height: picture height in pixels.
        balloon_images: exactly this many pictures hold balloons (the others none); ``None``: every
            picture draws its balloon count from ``balloons_per_image`` (which may include 0).
        balloons_per_image: ``[least, most]`` balloons in a picture that holds balloons.
        red_balloons: exactly this many balloons are red; ``None``: red is one of ``colour_weights``.
        colour_weights: relative share of each balloon colour (red excluded when ``red_balloons`` is
            set); counts are allotted exactly in proportion, then shuffled.
        lookalike_rate: share of pictures (counted separately among pictures with and without
            balloons) that hold look-alikes (balls, suns, round signs, kites, apples, bubbles).
        red_lookalike_share: share of those pictures that hold at least one red look-alike.
        lookalikes_per_image: ``[least, most]`` look-alikes in a picture that holds them.
        lookalike_min_size: width in pixels of the smallest look-alike (they are drawn at balloon
            sizes, but none smaller than this: a few pixels cannot tell a ball from a balloon).
        small_fraction: chance that a balloon is drawn small (box area under 32² pixels).
        min_size: width in pixels of the smallest balloon body.
        max_size: width of the largest balloon body as a share of the picture's shorter side.
        occlusion_rate: chance that something (cloud, foliage, post) is put in front of a balloon.
        max_hidden: the largest share of a balloon's body that may be hidden by things in front.
        truncation_rate: chance that a balloon is placed across the picture's border.
        lighting_strength: 0 (every picture in neutral daylight) to 1 (strong colour casts,
            over-exposure, haze, desaturation).
        noise: ``[least, most]`` standard deviation of pixel noise in 8-bit levels.
        blur: ``[least, most]`` Gaussian blur radius in pixels.
        jpeg_quality: ``[least, most]`` JPEG quality.
    """

    images: int = 100
    width: int = 256
    height: int = 256
    balloon_images: int | None = None
    balloons_per_image: tuple[int, int] = (0, 4)
    red_balloons: int | None = None
    colour_weights: Mapping[str, float] = field(default_factory=lambda: dict.fromkeys(COLOURS, 1.0))
    lookalike_rate: float = 0.5
    red_lookalike_share: float = 0.5
    lookalikes_per_image: tuple[int, int] = (1, 3)
    lookalike_min_size: int = 20
    small_fraction: float = 0.3
    min_size: int = 12
    max_size: float = 0.45
    occlusion_rate: float = 0.3
    max_hidden: float = 0.55
    truncation_rate: float = 0.15
    lighting_strength: float = 0.65
    noise: tuple[float, float] = (1.0, 8.0)
    blur: tuple[float, float] = (0.0, 1.2)
    jpeg_quality: tuple[int, int] = (40, 90)

    def to_dict(self) -> dict[str, Any]:
        """Plain data as written in ``source.params``."""
        data: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            data[item.name] = value
        return data


_KEYS = tuple(item.name for item in fields(WorldParams))
_SHARES = (
    "lookalike_rate",
    "red_lookalike_share",
    "small_fraction",
    "occlusion_rate",
    "max_hidden",
    "truncation_rate",
    "lighting_strength",
)


def parse_params(raw: Mapping[str, Any], *, where: str) -> WorldParams:
    """Validate ``source.params`` into ``WorldParams``.

    Args:
        raw: the mapping as read from ``dataset.yaml`` (lists may be tuples).
        where: names the file in error messages.

    Raises:
        DatasetError: an unknown key, a value of the wrong type or out of range, or counts that
            cannot hold together (more red balloons than balloons, ...); the message names the key.

    Example:
        >>> parse_params({"images": 50, "balloon_images": 10}, where="x.yaml").balloon_images
        10
    """
    check = _Check(where)
    for key in raw:
        if key not in _KEYS:
            raise check.fail(str(key), "is unknown", f"use one of {', '.join(_KEYS)}")
    defaults = WorldParams()
    values: dict[str, Any] = {}
    for key in _KEYS:
        if key not in raw:
            continue
        values[key] = check.value(key, raw[key], getattr(defaults, key))
    params = WorldParams(**values)
    _check_together(params, check)
    return params


class _Check:
    """Type checks that raise ``DatasetError`` naming the file and the parameter."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, key: str, problem: str, fix: str) -> DatasetError:
        return DatasetError(f"{self.where}: key 'source.params.{key}' {problem}; fix: {fix}")

    def value(self, key: str, value: Any, default: Any) -> Any:
        if key in ("balloon_images", "red_balloons"):
            return None if value is None else self.count(key, value)
        if key == "colour_weights":
            return self.weights(key, value)
        if isinstance(default, tuple):
            return self.pair(key, value, int if isinstance(default[0], int) else float)
        if isinstance(default, int):
            return self.count(key, value, least=1)
        return self.number(key, value)

    def count(self, key: str, value: Any, least: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise self.fail(key, f"must be a whole number >= {least}, got {value!r}", "write a count such as 100")
        return value

    def number(self, key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise self.fail(key, f"must be a number >= 0, got {value!r}", "write a number such as 0.3")
        if key in _SHARES and value > 1:
            raise self.fail(key, f"is a share and must be at most 1, got {value!r}", "write a number from 0 to 1")
        return float(value)

    def pair(self, key: str, value: Any, kind: type) -> tuple[Any, Any]:
        if not isinstance(value, list | tuple) or len(value) != 2:
            raise self.fail(key, f"must be a pair [least, most], got {value!r}", "write it as [1, 3]")
        low, high = (self.count(key, v) if kind is int else self.number(key, v) for v in value)
        if low > high:
            raise self.fail(key, f"has least {low} above most {high}", "write [least, most]")
        return (low, high)

    def weights(self, key: str, value: Any) -> Mapping[str, float]:
        if not isinstance(value, Mapping) or not value:
            raise self.fail(key, f"must be a mapping colour: weight, got {value!r}", "write {red: 1, blue: 1}")
        for name in value:
            if name not in COLOURS:
                raise self.fail(f"{key}.{name}", "is not a balloon colour", f"use one of {', '.join(COLOURS)}")
        # a plain dict, not a MappingProxyType: the parameters travel to worker processes by pickle
        return {name: self.number(f"{key}.{name}", value[name]) for name in COLOURS if name in value}


def _check_together(params: WorldParams, check: _Check) -> None:
    """Counts and ranges that must agree with each other."""
    if params.balloon_images is not None and params.balloon_images > params.images:
        raise check.fail(
            "balloon_images", f"({params.balloon_images}) exceeds images ({params.images})", "lower it or raise images"
        )
    if params.balloon_images is not None and params.balloons_per_image[0] < 1:
        raise check.fail("balloons_per_image", "must start at 1 when balloon_images is set", "write [1, most]")
    if params.red_balloons is not None:
        least = _least_balloons(params)
        if params.red_balloons > least:
            raise check.fail(
                "red_balloons",
                f"({params.red_balloons}) may exceed the balloons drawn (at least {least})",
                "lower it, or raise balloon_images or balloons_per_image",
            )
        non_red = {name: weight for name, weight in params.colour_weights.items() if name != "red"}
        if sum(non_red.values()) <= 0:
            raise check.fail("colour_weights", "gives no weight to any colour but red", "give other colours weight")
    elif params.colour_weights.get("red", 0.0) < 0 or sum(params.colour_weights.values()) <= 0:
        raise check.fail("colour_weights", "gives no colour any weight", "give at least one colour weight")
    if params.min_size < 4 or params.min_size > params.max_size * min(params.width, params.height):
        raise check.fail(
            "min_size",
            f"({params.min_size}) must be at least 4 and below max_size times the shorter side",
            "use e.g. min_size: 12, max_size: 0.45",
        )
    if params.jpeg_quality[0] < 1 or params.jpeg_quality[1] > 95:
        raise check.fail("jpeg_quality", f"{list(params.jpeg_quality)} is outside 1..95", "write e.g. [40, 90]")


def _least_balloons(params: WorldParams) -> int:
    """Fewest balloons the composition can produce (the exact red count must fit in it)."""
    if params.balloon_images is None:
        return params.images * params.balloons_per_image[0]
    return params.balloon_images * params.balloons_per_image[0]
