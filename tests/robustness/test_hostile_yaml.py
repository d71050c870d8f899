"""Hostile YAML (issue 11, case 5): alias bombs, non-UTF-8 files and huge values in model cards, data set
definitions and YOLO ``data.yaml`` are refused quickly, naming the file, with messages of bounded size."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from visionspec.datasets import load_spec
from visionspec.datasets.importers.yolo import read_class_names
from visionspec.errors import DatasetError, ModelCardError, VisionSpecError
from visionspec.runtime.card import build_card, parse_metadata_card, read_card_file

MESSAGE_LIMIT = 600


def alias_bomb(key: str, depth: int = 6) -> str:
    """``key`` holding 9**depth strings through nested aliases, in well under 1 KB."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 9)}]" for level in range(1, depth + 1)]
    return "\n".join(lines) + f"\n{key}: *l{depth}\n"


def refused(error: type[VisionSpecError], read: object, *args: object) -> str:
    started = time.perf_counter()
    with pytest.raises(error) as caught:
        read(*args)  # type: ignore[operator]
    assert time.perf_counter() - started < 5.0  # an alias bomb took minutes
    message = str(caught.value)
    assert len(message) < MESSAGE_LIMIT, message[:300]
    return message


def test_an_alias_bomb_in_a_model_card_is_refused_at_load(tmp_path: Path) -> None:
    card = tmp_path / "model.yaml"
    card.write_text(alias_bomb("classes"), encoding="utf-8")
    assert len(card.read_bytes()) < 1024
    message = refused(ModelCardError, read_card_file, card)
    assert message.startswith(f"{card}: line 1: YAML anchors and aliases (& and *) are not accepted; fix:")


def test_an_alias_bomb_in_an_onnx_metadata_card_is_refused() -> None:
    message = refused(ModelCardError, parse_metadata_card, alias_bomb("classes"), "metadata of m.onnx")
    assert message.startswith("metadata of m.onnx: line 1: YAML anchors and aliases")


def test_an_alias_bomb_in_a_dataset_definition_is_refused_at_load(tmp_path: Path) -> None:
    definition = tmp_path / "dataset.yaml"
    definition.write_text(alias_bomb("classes"), encoding="utf-8")
    assert refused(DatasetError, load_spec, definition).startswith(f"{definition}: line 1: YAML anchors")


def test_an_alias_bomb_in_a_yolo_class_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data.yaml").write_text(alias_bomb("names"), encoding="utf-8")
    assert refused(DatasetError, read_class_names, tmp_path).startswith(f"{tmp_path / 'data.yaml'}: line 1:")


def test_merge_keys_are_aliases_too(tmp_path: Path) -> None:
    card = tmp_path / "model.yaml"
    card.write_text("base: &base {size: [32, 32]}\ninput:\n  <<: *base\n", encoding="utf-8")
    assert "anchors and aliases" in refused(ModelCardError, read_card_file, card)


@pytest.mark.parametrize("name", ["model.yaml", "dataset.yaml"])
def test_a_file_that_is_not_utf8_is_refused_naming_the_file_and_the_line(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes("name: ballon\ntitle: caf\u00e9\n".encode("latin-1"))
    read, error = (read_card_file, ModelCardError) if name == "model.yaml" else (load_spec, DatasetError)
    message = refused(error, read, path)
    assert message == f"{path}: not UTF-8 text (byte 0xe9 on line 2); fix: save the file as UTF-8"


def test_deep_nesting_is_refused_quickly_not_a_recursion_traceback(tmp_path: Path) -> None:
    card = tmp_path / "model.yaml"
    card.write_text("classes: " + "[" * 3_000_000 + "\n", encoding="utf-8")  # the scanner's cost grows as depth²
    message = refused(ModelCardError, read_card_file, card)
    assert message == f"{card}: line 1: YAML nested deeper than 64 levels; fix: check the file"
    nested = "".join(f"{'  ' * level}k:\n" for level in range(600)) + f"{'  ' * 600}k: 1\n"  # block style
    card.write_text(nested, encoding="utf-8")
    message = refused(ModelCardError, read_card_file, card)
    assert message == f"{card}: YAML nested too deeply to read; fix: check the file"


def test_a_huge_value_is_echoed_by_its_start_only() -> None:
    huge = "x" * 5_000_000
    message = refused(ModelCardError, build_card, [("model.yaml", {"name": "m", "task": huge})])
    assert "'xxxxxxxxxx" in message and "(5,000,000 characters)" in message
    nested = [["balloon"] * 1000] * 1000
    message = refused(ModelCardError, build_card, [("model.yaml", {"name": "m", "task": "detection",
                                                                    "classes": nested})])
    assert message.startswith("model.yaml: bad value [['balloon', 'balloon'")


def test_a_huge_value_in_a_dataset_definition_is_echoed_by_its_start_only(tmp_path: Path) -> None:
    definition = tmp_path / "dataset.yaml"
    definition.write_text(f"id: x\nsource: {{kind: {'k' * 100_000}}}\nclasses: [balloon]\n", encoding="utf-8")
    message = refused(DatasetError, load_spec, definition)
    assert message.startswith(f"{definition}: key 'source.kind' is 'kkkkk") and "(100,000 characters)" in message
    definition.write_text(f"id: x\nsource: {{kind: coco}}\nclasses: [balloon]\n? {'q' * 100_000}\n: 1\n",
                          encoding="utf-8")
    message = refused(DatasetError, load_spec, definition)
    assert message.startswith(f"{definition}: key 'qqqq") and "(100,000 characters) is unknown" in message
