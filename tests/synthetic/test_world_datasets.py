"""The committed balloon-world data sets: promises that follow from their parameters; evaluation never trained on."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from balloon_world_helpers import (
    ATTRIBUTES,
    COMMITTED,
    EVALUATION_SETS,
    TRAINING_SETS,
    committed_spec,
    scaled_params,
)

from visionspec.datasets.spec import DatasetSpec, Expect
from visionspec.datasets.synthetic import COLOURS, build_world, parse_params, plan_world, world_of

ALL_SETS = EVALUATION_SETS + TRAINING_SETS


def _planned(spec: DatasetSpec) -> Expect:
    """The counts the plan makes exact: images, images without balloons, balloons, balloons per colour."""
    params, seed = world_of(spec)
    plans = plan_world(params, seed)
    colours = Counter(colour for plan in plans for colour in plan.colours)
    return Expect(
        images=params.images,
        images_without_objects=sum(not plan.colours for plan in plans),
        objects={"balloon": sum(len(plan.colours) for plan in plans)},
        attributes={"colour": {name: colours[name] for name in COLOURS}},
    )


@pytest.mark.parametrize("dataset_id", ALL_SETS)
def test_definition_is_valid_and_promises_what_its_plan_makes(dataset_id: str) -> None:
    spec = committed_spec(dataset_id)
    assert spec.id == dataset_id
    assert spec.classes == ("balloon",)
    assert {name: list(values) for name, values in spec.attributes.items()} == ATTRIBUTES
    assert spec.expect.to_dict() == _planned(spec).to_dict()
    # every knob is written out, so a change of the defaults cannot change a committed set
    assert set(spec.source["params"]) == set(parse_params({}, where="defaults").to_dict())


def test_12345_is_the_products_goal() -> None:
    spec = committed_spec("12345")
    params, seed = world_of(spec)
    assert (params.width, params.height, seed) == (256, 256, 12345)
    assert spec.expect.images == 5000
    assert spec.expect.images_without_objects == 4000
    assert spec.expect.objects == {"balloon": 1000}
    assert spec.expect.attributes["colour"]["red"] == 100
    plans = plan_world(params, seed)
    assert all(len(plan.colours) in (0, 1) for plan in plans)
    empty = [plan for plan in plans if not plan.colours]
    assert sum(plan.lookalikes > 0 for plan in empty) >= 1500
    assert sum(plan.red_lookalike for plan in empty) >= 500


def test_smoke_set_has_12345s_mix() -> None:
    smoke = committed_spec("balloons-smoke").expect
    assert (smoke.images, smoke.images_without_objects, smoke.objects["balloon"]) == (100, 80, 20)
    assert smoke.attributes["colour"]["red"] >= 2


def test_crowd_set_is_not_square_and_crowded() -> None:
    params, _ = world_of(committed_spec("balloons-crowd"))
    assert (params.width, params.height, params.balloons_per_image) == (320, 240, (0, 8))
    assert params.images == 1000


def test_seeds_differ_between_all_sets() -> None:
    seeds = [world_of(committed_spec(dataset_id))[1] for dataset_id in ALL_SETS]
    assert len(set(seeds)) == len(seeds)


def test_training_pictures_never_appear_in_evaluation_sets(tmp_path: Path) -> None:
    """Small builds of every set (their first pictures, same seeds and knobs) share no image hash."""
    hashes: dict[str, set[str]] = {}
    for dataset_id in ALL_SETS:
        spec = committed_spec(dataset_id)
        params = parse_params(scaled_params(spec, 6), where=dataset_id)
        coco = build_world(params, world_of(spec)[1], tmp_path / dataset_id, workers=1)
        hashes[dataset_id] = {image["sha256"] for image in coco["images"]}
        assert len(hashes[dataset_id]) == 6
    for training in TRAINING_SETS:
        for evaluation in EVALUATION_SETS:
            assert not hashes[training] & hashes[evaluation], (training, evaluation)


def _built_hashes(dataset_id: str) -> set[str] | None:
    annotations = COMMITTED / dataset_id / "annotations.json"
    if not annotations.is_file():
        return None
    return {image["sha256"] for image in json.loads(annotations.read_text())["images"]}


@pytest.mark.parametrize("training", TRAINING_SETS)
def test_built_training_and_evaluation_sets_share_no_picture(training: str) -> None:
    """Where the sets have been built in ``datasets/``, compare every picture's recorded hash."""
    train = _built_hashes(training)
    built = {evaluation: _built_hashes(evaluation) for evaluation in EVALUATION_SETS}
    if train is None or all(hashes is None for hashes in built.values()):
        pytest.skip(f"{training} or the evaluation sets are not built (visionspec datasets build ID)")
    for evaluation, hashes in built.items():
        assert hashes is None or not train & hashes, (training, evaluation)
