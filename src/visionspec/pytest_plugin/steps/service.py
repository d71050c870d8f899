"""Steps about an analysis service as the model under test, and the service against the candidate detector.

``Given the analysis service at "URL"`` makes the service the detector and the colour model of the
scenario: the When and Then steps run unchanged on what it answers. The service's JSON is read through the
mapping (``VISIONSPEC_SERVICE_CONFIG``, else ``service.yaml`` beside the feature file, else the project config's
``service`` table; none: the reference contract of ``visionspec serve``). Each service is connected once per run; its
version and model hashes go into the report's environment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import allure
import pytest
from parse import with_pattern
from pytest_bdd import given, then

from visionspec.errors import GoalPhraseError
from visionspec.evaluation import DetectionResult, Thresholds
from visionspec.goals import Comparison, Goal, Quantity, judge
from visionspec.pipeline import run_chain
from visionspec.pytest_plugin import compat
from visionspec.pytest_plugin.outcomes import assert_goal
from visionspec.pytest_plugin.steps._phrases import QUANTITY, Phrase, phrase
from visionspec.report.allure_files import write_environment
from visionspec.report.evidence import contact_sheet
from visionspec.report.tables import key_value_table
from visionspec.runtime.session import ModelSession
from visionspec.scope import Scope
from visionspec.service.contract import (
    MAPPING_FILE,
    SERVICE_CONFIG_ENV,
    SERVICE_URL_ENV,
    ServiceMapping,
    load_mapping,
)
from visionspec.workbench import Workbench


@with_pattern(r"\S+")
def _url(text: str) -> str:
    """the service's address: http://host:port (https too)"""
    return text


def _phrase(pattern: str) -> Phrase:
    return phrase(pattern, {"Url": _url})


@pytest.fixture(scope="session")
def analysis_services() -> Iterator[dict[str, object]]:
    """The services connected in this run, by address (each connected once; closed at the end)."""
    services: dict[str, object] = {}
    yield services
    for client in services.values():
        client.close()  # type: ignore[attr-defined]


@pytest.fixture
def service_mapping(request: pytest.FixtureRequest) -> ServiceMapping:
    """How to call the service and read its JSON: ``VISIONSPEC_SERVICE_CONFIG``, else ``service.yaml`` beside the
    feature file, else the project config's ``service`` table, else the reference contract."""
    from visionspec.pytest_plugin import PROJECT_KEY

    configured = os.environ.get(SERVICE_CONFIG_ENV, "").strip()
    if configured:
        return load_mapping(Path(configured))
    beside = Path(str(request.node.path)).parent / MAPPING_FILE
    if beside.is_file():
        return load_mapping(beside)
    project = request.config.stash.get(PROJECT_KEY, None)
    if project is not None and "service" in project.extra:
        return ServiceMapping.from_dict(project.extra["service"], f"{project.source or project.root}: service")
    return ServiceMapping()


@pytest.fixture
def analysis_service() -> None:
    """A goal about the service needs one."""
    raise GoalPhraseError('this goal judges an analysis service: add "Given the analysis service at '
                          '"http://host:port"" before it')


def _service_under_test(url: str, mapping: ServiceMapping, services: dict[str, object],
                        request: pytest.FixtureRequest) -> object:
    """Connect (once a run) and make the service the scenario's detector and, when it names colours, colour model."""
    from visionspec.service.client import ServiceClient, ServiceColourModel, ServiceModel, checked_url

    address = checked_url(url)
    if address not in services:
        services[address] = ServiceClient.connect(address, mapping)
    client = services[address]
    assert isinstance(client, ServiceClient)
    detector = ServiceModel(client)
    compat.set_fixture(request, "detector", detector)
    if mapping.colour is not None:
        compat.set_fixture(request, "colour_model", ServiceColourModel(client))
    return detector


@given(_phrase("the analysis service at {url:Url}"), target_fixture="analysis_service")
def analysis_service_at(url: str, service_mapping: ServiceMapping, analysis_services: dict[str, object],
                        request: pytest.FixtureRequest) -> object:
    """The service under test: the detector's boxes and the chain's colours come from its answers.

    Example: Given the analysis service at "http://127.0.0.1:8000"
    """
    return _service_under_test(url, service_mapping, analysis_services, request)


@given(_phrase("the analysis service"), target_fixture="analysis_service")
def configured_analysis_service(service_mapping: ServiceMapping, analysis_services: dict[str, object],
                                request: pytest.FixtureRequest) -> object:
    """The service named by ``url`` in the service mapping, else ``VISIONSPEC_SERVICE_URL``; none: skipped.

    Example: Given the analysis service
    """
    url = service_mapping.url or os.environ.get(SERVICE_URL_ENV, "").strip()
    if not url:
        pytest.skip(f"no analysis service is configured: set url in the service mapping (the project config's "
                    f"service table, or {MAPPING_FILE}) or {SERVICE_URL_ENV}, or name it: Given the analysis "
                    'service at "http://host:port"')
    return _service_under_test(url, service_mapping, analysis_services, request)


@then(
    _phrase("the service should agree with the candidate detector on {comparison:Comparison} {quantity:Quantity} "
            "of the {pictures:Pictures}"),
    converters=QUANTITY,
)
def service_agrees_with_candidate(
    comparison: Comparison,
    quantity: Quantity,
    scope: Scope,
    analysis_service: object,
    workbench: Workbench,
    candidate_detector_path: Path,
    score_threshold: float | None,
    iou_threshold: float | None,
    service_mapping: ServiceMapping,
    request: pytest.FixtureRequest,
) -> None:
    """Pictures on which the service reports the same boxes (IoU 50%, the candidate at its card's threshold) and
    the same colours as the candidate detector and colour model; the pictures where they differ are the evidence.

    Example: Then the service should agree with the candidate detector on at least 99% of the pictures
    """
    from visionspec.service.client import ServiceColourModel, ServiceModel
    from visionspec.service.comparison import compare
    from visionspec.service.evidence import disagreement_tiles

    assert isinstance(analysis_service, ServiceModel)
    candidate = workbench.model(candidate_detector_path)
    mine = DetectionResult.on(scope, workbench.detections(candidate, scope.source),
                              Thresholds.stated(candidate.card.score_threshold, score_threshold, iou_threshold))
    theirs = DetectionResult.on(scope, workbench.detections(analysis_service, scope.source),
                                Thresholds.stated(analysis_service.card.score_threshold, score_threshold,
                                                  iou_threshold))
    colours = {}
    if service_mapping.colour is not None:
        colour_model = workbench.model(request.getfixturevalue("candidate_colour_model_path"))
        # the chain reads the colour model's card.classes and path, and Workbench.classify dispatches a RemoteModel
        service_colours = cast("ModelSession", ServiceColourModel(analysis_service.client))
        colours = {"candidate_colours": run_chain(mine, colour_model, workbench).labels,
                   "service_colours": run_chain(theirs, service_colours, workbench).labels}
    agreement = compare(mine, theirs, **colours)
    allure.attach(key_value_table(agreement.to_dict(), caption="The service against the candidate detector"),
                  name="agreement", attachment_type=allure.attachment_type.HTML)
    rows = {int(image_id): row for row, image_id in enumerate(scope.source.images.ids)}
    for tiles in disagreement_tiles(agreement, scope.dataset.annotations,
                                    lambda image_id: scope.source.image_path(rows[image_id])):
        if tiles.total:
            sheet = contact_sheet(tiles)
            allure.attach(sheet.data, name=tiles.title.lower(), attachment_type=sheet.media_type,
                          extension=sheet.extension)
    assert_goal(request, judge(Goal(comparison, quantity), agreement.measurement(scope.images_noun)))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    # The plugin writes the environment when an ONNX model ran; a run that judged only services writes it here.
    from visionspec.pytest_plugin import WORKBENCH_KEY

    workbench = session.config.stash.get(WORKBENCH_KEY, None)
    results = session.config.getoption("allure_report_dir", None)
    if workbench is not None and results and workbench.remote and not workbench.models:
        write_environment(Path(results), workbench.environment())
