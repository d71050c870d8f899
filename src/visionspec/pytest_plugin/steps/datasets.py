"""Steps about data: which data set, which images, which objects."""

from __future__ import annotations

from pytest_bdd import given

from visionspec.datasets.registry import DatasetRegistry
from visionspec.pytest_plugin.steps._phrases import phrase
from visionspec.scope import Scope


@given(phrase('data set "{dataset_id:DatasetId}"'), target_fixture="scope")
def data_set(dataset_id: str, dataset_registry: DatasetRegistry) -> Scope:
    """The data set the goals are judged on, verified against its manifest and promised counts.

    Example: Given data set "12345"
    """
    return Scope.whole(dataset_registry.load(dataset_id))


@given(phrase("only the {pictures:Pictures} with {things:Things}"), target_fixture="scope")
def images_with(things: str, scope: Scope) -> Scope:
    """Only the images that show at least one object of this class (needs: Given data set).

    Example: Given only the images with balloons
    """
    return scope.images(with_objects=True, word=things)


@given(phrase("only the {pictures:Pictures} without {things:Things}"), target_fixture="scope")
def images_without(things: str, scope: Scope) -> Scope:
    """Only the images that show no object of this class: false alarms are judged here (needs: Given data set).

    Example: Given only the images without balloons
    """
    return scope.images(with_objects=False, word=things)


@given(phrase("only the {kind:Kind} {things:Things}"), target_fixture="scope")
def objects_of_kind(kind: str, things: str, scope: Scope) -> Scope:
    """Only the objects with this attribute value or size; see docs/goals.md for what each figure does on it.

    Example: Given only the small balloons
    """
    return scope.of_class(things).narrowed_by_word(kind)


@given(phrase("only the {things:Things} whose {attribute:Attribute} is {value:Value}"), target_fixture="scope")
def objects_whose(things: str, attribute: str, value: str, scope: Scope) -> Scope:
    """Only the objects whose declared attribute has this value (needs: Given data set).

    Example: Given only the balloons whose colour is red
    """
    return scope.of_class(things).narrowed(attribute, value)
