"""Reading a service's answers through the mapping (pure functions: no server needed)."""

from __future__ import annotations

import inspect

import pytest

from visionspec.errors import ServiceError
from visionspec.runtime.card import BoxFormat
from visionspec.service.contract import ServiceMapping, read_answer, read_version


def test_the_reference_answer_is_read_as_it_is() -> None:
    answer = read_answer({"items": [{"box": [1, 2, 3, 4], "score": 0.9, "label": "balloon", "colour": "red",
                                     "colour_score": 0.7}], "model": {}}, ServiceMapping(), "a.png")

    assert answer.boxes.tolist() == [[1.0, 2.0, 3.0, 4.0]]
    assert answer.scores.tolist() == [0.9] and answer.labels.tolist() == ["balloon"]
    assert answer.colours.tolist() == ["red"] and answer.colour_scores.tolist() == [0.7]


@pytest.mark.parametrize(("box_format", "box", "xywh"), [
    ("xyxy", [10, 20, 30, 60], [10.0, 20.0, 20.0, 40.0]),
    ("cxcywh", [20, 40, 20, 40], [10.0, 20.0, 20.0, 40.0]),
    ("xywh", [10, 20, 20, 40], [10.0, 20.0, 20.0, 40.0]),
])
def test_another_json_shape_is_read_through_the_mapping(box_format: str, box: list[int], xywh: list[float]) -> None:
    mapping = ServiceMapping.from_dict({
        "items": "result.objects", "box": "bbox", "box_format": box_format, "score": "confidence",
        "label": "class", "labels": {"ballon": "balloon"}, "colour": "attributes", "values": {"rot": "red"},
        "colour_score": None,
    }, "service.yaml")
    payload = {"result": {"objects": [{"bbox": box, "confidence": 0.5, "class": "ballon", "attributes": "rot"}]}}

    answer = read_answer(payload, mapping, "a.png")

    assert answer.boxes.tolist() == [xywh]
    assert answer.labels.tolist() == ["balloon"] and answer.colours.tolist() == ["red"]
    assert answer.colour_scores.tolist() == [1.0]


def test_a_service_without_colours() -> None:
    mapping = ServiceMapping.from_dict({"colour": ""}, "visionspec.toml: service")

    answer = read_answer({"items": [{"box": [0, 0, 1, 1], "score": 1, "label": "balloon"}]}, mapping, "a.png")

    assert mapping.colour is None and answer.colours.tolist() == [""]


@pytest.mark.parametrize(("payload", "expected"), [
    ([], "a JSON object with 'items'"),
    ({"items": {}}, "a list of items"),
    ({"items": [3]}, "item 0: the service answered HTTP 200 but not as its contract says: expected an object"),
    ({"items": [{"score": 1, "label": "balloon", "colour": "red", "colour_score": 1}]}, "a field 'box'"),
    ({"items": [{"box": [0, 0, 1], "score": 1, "label": "b", "colour": "r", "colour_score": 1}]}, "four numbers"),
    ({"items": [{"box": [0, 0, 1, float("nan")], "score": 1, "label": "b", "colour": "r", "colour_score": 1}]},
     "a finite number"),
    ({"items": [{"box": [0, 0, -1, 1], "score": 1, "label": "b", "colour": "r", "colour_score": 1}]},
     "a xywh box with a positive size"),
    ({"items": [{"box": [0, 0, 1, 1], "score": "high", "label": "b", "colour": "r", "colour_score": 1}]},
     "score: the service answered HTTP 200"),
    ({"items": [{"box": [0, 0, 1, 1], "score": 1, "label": 7, "colour": "r", "colour_score": 1}]}, "a class name"),
    ({"items": [{"box": [0, 0, 1, 1], "score": 1, "label": "b", "colour": None, "colour_score": 1}]},
     "a colour name"),
])
def test_a_malformed_answer_names_the_picture_and_what_was_expected(payload: object, expected: str) -> None:
    with pytest.raises(ServiceError, match=r"^pic\.png") as raised:
        read_answer(payload, ServiceMapping(), "pic.png")

    assert expected in str(raised.value)


@pytest.mark.parametrize(("data", "expected"), [
    ({"box_fromat": "xyxy"}, "service.yaml: unknown key 'box_fromat'"),
    ({"box_format": "yxyx"}, "service.yaml: box_format: one of xyxy, xywh, cxcywh, got 'yxyx'"),
    ({"concurrency": 0}, "concurrency: a whole number from 1 to 64, got 0"),
    ({"timeout": -1}, "timeout: seconds, above 0"),
    ({"labels": ["balloon"]}, "labels: a mapping of the service's words"),
    ({"items": 3}, "items: a non-empty text, got 3"),
    (["items"], "a service mapping is a YAML mapping of keys"),
])
def test_a_bad_mapping_is_refused_naming_the_key(data: object, expected: str) -> None:
    with pytest.raises(ServiceError) as raised:
        ServiceMapping.from_dict(data, "service.yaml")

    assert expected in str(raised.value)
    assert ServiceMapping.from_dict(None, "service.yaml").box_format is BoxFormat.XYWH


def test_the_version_answer() -> None:
    version = read_version({"version": "2.1", "model": {"detector": "ab"}, "classes": {"colour": ["red"]}},
                           ServiceMapping(), "http://x")

    assert (version.version, dict(version.models), dict(version.classes)) == ("2.1", {"detector": "ab"},
                                                                               {"colour": ("red",)})
    with pytest.raises(ServiceError, match="expected a version in 'version'"):
        read_version({"model": {}}, ServiceMapping(), "http://x")


def test_the_pytest_bdd_name_behind_compat_set_fixture_exists() -> None:
    from pytest_bdd.compat import inject_fixture

    assert list(inspect.signature(inject_fixture).parameters) == ["request", "arg", "value"]
