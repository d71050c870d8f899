"""What each picture of a data set must hold, decided once for the whole set so that counts are exact.

Which pictures hold balloons, how many, their colours, and which pictures hold (red) look-alikes are
assigned by seeded permutations of exact counts, never left to chance; everything else about a
picture is drawn later from that picture's own generator ``default_rng([seed, index])``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.synthetic.params import WorldParams

# The plan's generator stream; picture generators use [seed, index] with index < images.
_PLAN_STREAM = 2**32 - 1


@dataclass(frozen=True)
class PicturePlan:
    """The promised content of one picture.

    Attributes:
        index: 0-based position in the data set (the image id is ``index + 1``).
        colours: the paint colour of each balloon, front to back order decided later.
        lookalikes: how many look-alikes the picture holds.
        red_lookalike: whether at least one look-alike is red (only when ``lookalikes`` > 0).
    """

    index: int
    colours: tuple[str, ...]
    lookalikes: int
    red_lookalike: bool


def plan_world(params: WorldParams, seed: int) -> tuple[PicturePlan, ...]:
    """The content of every picture of a data set.

    Args:
        params: the composition and difficulty parameters.
        seed: the data set's seed.

    Returns:
        One plan per picture, in index order.

    Example:
        >>> plans = plan_world(WorldParams(images=10, balloon_images=4, balloons_per_image=(1, 1)), seed=1)
        >>> sum(len(plan.colours) for plan in plans)
        4
    """
    rng = np.random.default_rng([seed, _PLAN_STREAM])
    counts = _balloon_counts(rng, params)
    colours = _colours(rng, params, int(counts.sum()))
    lookalikes = np.zeros(params.images, dtype=np.int64)
    red = np.zeros(params.images, dtype=bool)
    for group in (counts > 0, counts == 0):
        _assign_lookalikes(rng, params, np.flatnonzero(group), lookalikes, red)
    starts = np.concatenate([[0], np.cumsum(counts)])
    return tuple(
        PicturePlan(
            index=index,
            colours=tuple(colours[starts[index] : starts[index + 1]]),
            lookalikes=int(lookalikes[index]),
            red_lookalike=bool(red[index]),
        )
        for index in range(params.images)
    )


def _balloon_counts(rng: np.random.Generator, params: WorldParams) -> NDArray[np.int64]:
    """Balloons per picture."""
    least, most = params.balloons_per_image
    if params.balloon_images is None:
        return rng.integers(least, most + 1, size=params.images)
    counts = np.zeros(params.images, dtype=np.int64)
    chosen = rng.permutation(params.images)[: params.balloon_images]
    counts[chosen] = rng.integers(least, most + 1, size=params.balloon_images)
    return counts


def allot(total: int, weights: Mapping[str, float]) -> dict[str, int]:
    """Split ``total`` in proportion to ``weights`` exactly (largest remainders, ties in weight order)."""
    weight_sum = sum(weights.values())
    shares = {name: total * weight / weight_sum for name, weight in weights.items()}
    counts = {name: math.floor(share) for name, share in shares.items()}
    left = total - sum(counts.values())
    by_remainder = sorted(shares, key=lambda name: counts[name] - shares[name])
    for name in by_remainder[:left]:
        counts[name] += 1
    return counts


def _colours(rng: np.random.Generator, params: WorldParams, total: int) -> list[str]:
    """Every balloon's colour, counts exact, order shuffled."""
    if params.red_balloons is None:
        counts = allot(total, params.colour_weights)
    else:
        counts = allot(total - params.red_balloons, {n: w for n, w in params.colour_weights.items() if n != "red"})
        counts["red"] = params.red_balloons
    names = [name for name, count in counts.items() for _ in range(count)]
    return [names[position] for position in rng.permutation(len(names))]


def _assign_lookalikes(
    rng: np.random.Generator,
    params: WorldParams,
    pictures: NDArray[np.int64],
    lookalikes: NDArray[np.int64],
    red: NDArray[np.bool_],
) -> None:
    """Mark exactly ``lookalike_rate`` of ``pictures`` as holding look-alikes, ``red_lookalike_share`` of those red."""
    chosen = rng.permutation(pictures)[: _share(len(pictures), params.lookalike_rate)]
    least, most = params.lookalikes_per_image
    lookalikes[chosen] = rng.integers(max(least, 1), max(most, 1) + 1, size=len(chosen))
    red[chosen[: _share(len(chosen), params.red_lookalike_share)]] = True


def _share(count: int, rate: float) -> int:
    """``rate`` of ``count``, rounded half up."""
    return math.floor(count * rate + 0.5)
