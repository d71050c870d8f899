"""Paint colours and the light that falls on a whole picture.

A balloon's colour label is its true paint colour, drawn from a range of shades (hue, saturation,
value); the lighting is applied to the whole finished picture, so a red balloon at sunset and an
orange one at noon can look alike, as in photographs, while the highlight, the white things and the
background carry the cue that lets a model undo the cast.

Only exactly rounded arithmetic (+, -, *, /, sqrt) touches pixels: NumPy's SIMD exp/sin/pow may differ
in the last bit between processors, and the data sets must be byte-identical on every machine.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Rgb = tuple[float, float, float]

COLOURS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "white")

# name: (hue range in degrees, saturation range, value range); red wraps around 0.
_SHADES: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "red": ((-8.0, 7.0), (0.72, 0.95), (0.55, 0.95)),
    "orange": ((19.0, 34.0), (0.78, 1.0), (0.8, 1.0)),
    "yellow": ((45.0, 58.0), (0.65, 0.95), (0.82, 1.0)),
    "green": ((95.0, 145.0), (0.55, 0.9), (0.45, 0.85)),
    "blue": ((198.0, 232.0), (0.6, 0.95), (0.5, 0.9)),
    "purple": ((266.0, 290.0), (0.45, 0.8), (0.38, 0.72)),
    "pink": ((322.0, 345.0), (0.32, 0.58), (0.85, 1.0)),
    "white": ((0.0, 360.0), (0.0, 0.07), (0.86, 0.98)),
}

LIGHTINGS = ("daylight", "sunset", "indoor", "shade", "haze", "overexposed", "desaturated", "dim")
_OUTDOOR_WEIGHTS = (0.34, 0.14, 0.0, 0.14, 0.12, 0.09, 0.09, 0.08)
_INDOOR_WEIGHTS = (0.3, 0.0, 0.34, 0.08, 0.0, 0.08, 0.1, 0.1)


def paint(rng: np.random.Generator, name: str) -> Rgb:
    """A random shade of the named colour, RGB in 0..1."""
    (hue_low, hue_high), (sat_low, sat_high), (val_low, val_high) = _SHADES[name]
    hue = rng.uniform(hue_low, hue_high) % 360.0
    red, green, blue = colorsys.hsv_to_rgb(hue / 360.0, rng.uniform(sat_low, sat_high), rng.uniform(val_low, val_high))
    return (red, green, blue)


def mix(first: Rgb, second: Rgb, amount: float) -> Rgb:
    """``first`` moved ``amount`` (0..1) of the way to ``second``."""
    return (
        first[0] + (second[0] - first[0]) * amount,
        first[1] + (second[1] - first[1]) * amount,
        first[2] + (second[2] - first[2]) * amount,
    )


def scale(colour: Rgb, factor: float) -> Rgb:
    """``colour`` times ``factor``, clipped to 0..1."""
    return (min(colour[0] * factor, 1.0), min(colour[1] * factor, 1.0), min(colour[2] * factor, 1.0))


@dataclass(frozen=True)
class Lighting:
    """The light on a whole picture: a colour cast, exposure, haze and loss of saturation.

    Attributes:
        kind: one of ``LIGHTINGS`` (recorded as the picture's ``lighting`` attribute).
        gain: per-channel multiplier (colour cast times exposure).
        haze: the colour the picture is veiled towards.
        haze_amount: 0..1 share of the veil.
        desaturation: 0..1 share of grey mixed in.
    """

    kind: str
    gain: Rgb
    haze: Rgb
    haze_amount: float
    desaturation: float


def sample_lighting(rng: np.random.Generator, *, indoor: bool, strength: float) -> Lighting:
    """Draw the light for one picture; ``strength`` 0 gives neutral daylight."""
    weights = np.array(_INDOOR_WEIGHTS if indoor else _OUTDOOR_WEIGHTS)
    kind = LIGHTINGS[int(rng.choice(len(LIGHTINGS), p=weights / weights.sum()))]
    amount = strength * rng.uniform(0.6, 1.0)
    jitter = tuple(1.0 + amount * rng.uniform(-0.05, 0.05) for _ in range(3))
    gain, haze, haze_amount, desaturation = _KIND_LIGHT[kind](rng, amount)
    return Lighting(
        kind=kind,
        gain=(gain[0] * jitter[0], gain[1] * jitter[1], gain[2] * jitter[2]),
        haze=haze,
        haze_amount=haze_amount,
        desaturation=desaturation,
    )


_Light = tuple[Rgb, Rgb, float, float]
_GREY: Rgb = (0.78, 0.8, 0.84)


def _daylight(rng: np.random.Generator, amount: float) -> _Light:
    exposure = rng.uniform(0.93, 1.07)
    return ((exposure, exposure, exposure), _GREY, 0.0, 0.0)


def _sunset(rng: np.random.Generator, amount: float) -> _Light:
    exposure = rng.uniform(0.85, 1.1)
    gain = (exposure * (1.0 + 0.12 * amount), exposure * (1.0 - 0.22 * amount), exposure * (1.0 - 0.5 * amount))
    return (gain, (1.0, 0.62, 0.35), 0.18 * amount, 0.0)


def _indoor(rng: np.random.Generator, amount: float) -> _Light:
    exposure = rng.uniform(0.75, 1.0)
    gain = (exposure * (1.0 + 0.06 * amount), exposure * (1.0 - 0.08 * amount), exposure * (1.0 - 0.42 * amount))
    return (gain, (0.9, 0.8, 0.6), 0.08 * amount, 0.1 * amount)


def _shade(rng: np.random.Generator, amount: float) -> _Light:
    exposure = rng.uniform(0.7, 0.9)
    gain = (exposure * (1.0 - 0.32 * amount), exposure * (1.0 - 0.18 * amount), exposure * (1.0 + 0.04 * amount))
    return (gain, (0.45, 0.55, 0.7), 0.1 * amount, 0.15 * amount)


def _haze(rng: np.random.Generator, amount: float) -> _Light:
    exposure = rng.uniform(0.95, 1.1)
    return ((exposure, exposure, exposure), _GREY, 0.48 * amount * rng.uniform(0.7, 1.0), 0.15 * amount)


def _overexposed(rng: np.random.Generator, amount: float) -> _Light:
    exposure = 1.0 + 0.75 * amount * rng.uniform(0.6, 1.0)
    return ((exposure, exposure, exposure * 0.97), (1.0, 1.0, 1.0), 0.12 * amount, 0.1 * amount)


def _desaturated(rng: np.random.Generator, amount: float) -> _Light:
    exposure = rng.uniform(0.9, 1.05)
    return ((exposure, exposure, exposure), _GREY, 0.05 * amount, 0.7 * amount * rng.uniform(0.7, 1.0))


def _dim(rng: np.random.Generator, amount: float) -> _Light:
    exposure = 1.0 - 0.5 * amount * rng.uniform(0.6, 1.0)
    return ((exposure, exposure, exposure * 1.03), (0.25, 0.25, 0.3), 0.12 * amount, 0.2 * amount)


_KIND_LIGHT = {
    "daylight": _daylight,
    "sunset": _sunset,
    "indoor": _indoor,
    "shade": _shade,
    "haze": _haze,
    "overexposed": _overexposed,
    "desaturated": _desaturated,
    "dim": _dim,
}


def apply_lighting(canvas: NDArray[np.float32], lighting: Lighting) -> NDArray[np.uint8]:
    """The picture ``canvas`` (H, W, 3) float32 in 0..1 under ``lighting``, as 8-bit RGB (H, W, 3).

    ``canvas`` is used as scratch space (its content is lost): the picture is large and this runs once.
    """
    veil = lighting.haze_amount
    # gain and veil folded into one multiply-add, already scaled to 0..255 and offset for rounding
    factor = (np.array(lighting.gain, dtype=np.float64) * (1.0 - veil) * 255.0).astype(np.float32)
    offset = (np.array(lighting.haze, dtype=np.float64) * veil * 255.0).astype(np.float32)
    lit = np.multiply(canvas, factor, out=canvas)
    lit += offset
    if lighting.desaturation > 0:
        # luminance by explicit products: np.dot would use BLAS, whose rounding depends on the processor
        grey = lit[..., 0:1] * np.float32(0.299) + lit[..., 1:2] * np.float32(0.587) + lit[..., 2:3] * np.float32(0.114)
        shift = grey - lit
        shift *= np.float32(lighting.desaturation)
        lit += shift
    lit += np.float32(0.5)
    return np.clip(lit, 0.0, 255.0, out=lit).astype(np.uint8)
