"""One registry of output adapters: an adapter class registers by being defined; a class missing its kind,
task, keys or layout, a kind used twice, or an adapter module left out all fail at import."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from visionspec.runtime import adapters
from visionspec.runtime.adapters import REGISTRY, DetectionAdapter, adapters_for
from visionspec.runtime.card import Task
from visionspec.runtime.card_keys import Settings


@dataclass(frozen=True, kw_only=True)
class NoKeys(Settings):
    """No keys."""


def test_every_adapter_is_registered_once_with_its_task() -> None:
    assert list(REGISTRY) == ["boxes_scores_labels", "torchvision", "yolo", "yolo_end_to_end", "centernet",
                              "priors", "logits", "probabilities"]
    assert [cls.kind for cls in adapters_for(Task.CLASSIFICATION)] == ["logits", "probabilities"]
    assert all(cls.layout and issubclass(cls.settings, Settings) for cls in REGISTRY.values())


def test_an_adapter_without_a_kind_fails_when_defined() -> None:
    with pytest.raises(TypeError, match=r"output adapter \S*Nameless must set kind"):
        class Nameless(DetectionAdapter[NoKeys]):
            settings = NoKeys
            layout = "anything"
    assert "Nameless" not in {cls.__name__ for cls in REGISTRY.values()}


def test_a_kind_used_twice_fails_when_defined() -> None:
    with pytest.raises(TypeError, match="output adapter kind 'yolo' is taken by YoloRaw"):
        class AnotherYolo(DetectionAdapter[NoKeys]):
            kind = "yolo"
            settings = NoKeys
            layout = "anything"


def test_an_adapter_module_left_out_fails_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(adapters, "_MODULES", ("fixed", "yolo", "centernet", "classifiers"))
    with pytest.raises(ImportError, match=r"modules \['centernet', 'classifiers', 'fixed', 'priors', 'yolo'\] but "
                                          r"_MODULES lists"):
        adapters._import_adapters()
