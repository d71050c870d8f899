"""The data set plan: exact counts by construction, balanced colours, seeded."""

from __future__ import annotations

from collections import Counter

import pytest

from visionspec.datasets.synthetic import COLOURS, WorldParams, plan_world
from visionspec.datasets.synthetic.plan import allot


def _params_like_12345(images: int = 500) -> WorldParams:
    return WorldParams(
        images=images,
        balloon_images=images // 5,
        balloons_per_image=(1, 1),
        red_balloons=images // 50,
        lookalike_rate=0.55,
        red_lookalike_share=0.5,
    )


def test_exact_balloon_and_red_counts() -> None:
    plans = plan_world(_params_like_12345(), seed=12345)
    assert len(plans) == 500
    assert [plan.index for plan in plans] == list(range(500))
    assert Counter(len(plan.colours) for plan in plans) == {0: 400, 1: 100}
    colours = Counter(colour for plan in plans for colour in plan.colours)
    assert colours["red"] == 10
    # the 90 others split as evenly as the seven other colours allow
    assert sorted(count for name, count in colours.items() if name != "red") == [12, 13, 13, 13, 13, 13, 13]


def test_exact_lookalike_counts_among_pictures_with_and_without_balloons() -> None:
    plans = plan_world(_params_like_12345(), seed=12345)
    empty = [plan for plan in plans if not plan.colours]
    full = [plan for plan in plans if plan.colours]
    assert sum(plan.lookalikes > 0 for plan in empty) == 220  # 0.55 of 400
    assert sum(plan.red_lookalike for plan in empty) == 110  # half of those
    assert sum(plan.lookalikes > 0 for plan in full) == 55
    assert sum(plan.red_lookalike for plan in full) == 28  # 27.5 rounded half up
    assert all(plan.lookalikes > 0 for plan in plans if plan.red_lookalike)
    assert all(1 <= plan.lookalikes <= 3 for plan in plans if plan.lookalikes)


def test_weighted_colours_are_allotted_exactly() -> None:
    weights = {"red": 2.0, "orange": 1.0, "blue": 1.0}
    params = WorldParams(images=40, balloons_per_image=(2, 2), colour_weights=weights)
    colours = Counter(colour for plan in plan_world(params, seed=3) for colour in plan.colours)
    assert colours == {"red": 40, "orange": 20, "blue": 20}


def test_allot_uses_largest_remainders() -> None:
    assert allot(10, {"a": 1.0, "b": 1.0, "c": 1.0}) == {"a": 4, "b": 3, "c": 3}
    assert allot(7, dict.fromkeys(COLOURS[:7], 1.0)) == dict.fromkeys(COLOURS[:7], 1)
    assert sum(allot(999, {"a": 0.3, "b": 0.7}).values()) == 999


def test_counts_drawn_per_picture_without_balloon_images() -> None:
    params = WorldParams(images=300, balloons_per_image=(0, 8))
    counts = Counter(len(plan.colours) for plan in plan_world(params, seed=1))
    assert set(counts) == set(range(9))


@pytest.mark.parametrize("seed", [1, 2])
def test_same_seed_same_plan_other_seed_other_plan(seed: int) -> None:
    params = _params_like_12345(200)
    assert plan_world(params, seed) == plan_world(params, seed)
    assert plan_world(params, seed) != plan_world(params, seed + 100)
