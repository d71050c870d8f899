"""The balloon world's parameters: defaults, validation messages."""

from __future__ import annotations

import pytest

from visionspec.datasets.synthetic import WorldParams, parse_params
from visionspec.errors import DatasetError


def test_defaults_fill_every_missing_key() -> None:
    params = parse_params({"images": 10}, where="x.yaml")
    assert params == WorldParams(images=10)
    assert params.balloon_images is None
    assert params.min_size == 12


def test_round_trip_through_plain_data() -> None:
    params = WorldParams(images=50, balloon_images=10, balloons_per_image=(1, 1), red_balloons=2, noise=(0.0, 3.0))
    assert parse_params(params.to_dict(), where="x.yaml") == params


def test_lists_may_arrive_as_tuples() -> None:
    # DatasetSpec freezes YAML lists into tuples
    assert parse_params({"jpeg_quality": (50, 60)}, where="x.yaml").jpeg_quality == (50, 60)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"imagez": 3}, "x.yaml: key 'source.params.imagez' is unknown; fix: use one of images, width"),
        ({"images": 0}, "key 'source.params.images' must be a whole number >= 1, got 0"),
        ({"images": "many"}, "key 'source.params.images' must be a whole number >= 1, got 'many'"),
        ({"occlusion_rate": 1.5}, "key 'source.params.occlusion_rate' is a share and must be at most 1, got 1.5"),
        ({"noise": [5, 1]}, "key 'source.params.noise' has least 5.0 above most 1.0"),
        ({"blur": 1.0}, "key 'source.params.blur' must be a pair [least, most], got 1.0"),
        ({"colour_weights": {"mauve": 1}}, "key 'source.params.colour_weights.mauve' is not a balloon colour"),
        ({"images": 10, "balloon_images": 11}, "key 'source.params.balloon_images' (11) exceeds images (10)"),
        (
            {"images": 10, "balloon_images": 3, "balloons_per_image": [1, 2], "red_balloons": 4},
            "key 'source.params.red_balloons' (4) may exceed the balloons drawn (at least 3)",
        ),
        ({"balloon_images": 3, "balloons_per_image": [0, 2]}, "'source.params.balloons_per_image' must start at 1"),
        ({"jpeg_quality": [40, 100]}, "key 'source.params.jpeg_quality' [40, 100] is outside 1..95"),
        ({"min_size": 2}, "key 'source.params.min_size' (2) must be at least 4"),
    ],
)
def test_bad_parameters_name_the_key_and_the_fix(raw: dict[str, object], message: str) -> None:
    with pytest.raises(DatasetError) as caught:
        parse_params(raw, where="x.yaml")
    assert message in str(caught.value)
    assert str(caught.value).startswith("x.yaml: ")
    assert "fix: " in str(caught.value)
