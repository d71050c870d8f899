"""An analysis service as the model under test: every picture uploaded, its answers read as detections and colours.

``ServiceClient.connect`` reads the service's version (``/v1/version``: version, model hashes, classes) once;
``answers`` uploads every picture of a data set, ``concurrency`` at a time, each with a ``timeout`` and up to
``retries`` further tries with back-off (0.25 s, doubling, at most 4 s) when it got no answer or a 429, 502,
503 or 504. Any other failure, and an answer that is not the contract's JSON, is final: no new uploads start,
the ones in flight finish, and a ``ServiceError`` names each failed picture with its HTTP status (or why no
answer came) and how many were not sent. A dead or hung service is therefore broken in seconds, never a hang.

Answers are cached like the ONNX predictions (``PredictionCache``): per picture under the service's version,
its model hashes, the mapping and the picture's SHA-256 (a killed run resumes where it stopped), and per data
set under the same and the data set digest (a re-run is free). A service must change its version or its
reported hashes when its answers change, or a re-run serves the old ones.

Two roles share one client: ``ServiceModel`` (the detector: ``Workbench.detections``) and
``ServiceColourModel`` (the chain's colours: ``Workbench.classify`` on the service's own boxes).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.tables import frozen_array
from visionspec.detections import Detections
from visionspec.errors import DatasetError, ServiceError, shown
from visionspec.runtime.cache import PredictionCache, cache_key
from visionspec.runtime.card import Task
from visionspec.runtime.crops import Classifications
from visionspec.runtime.inference import ImageSource
from visionspec.runtime.progress import ProgressCallback
from visionspec.service.contract import PictureAnswer, ServiceMapping, ServiceVersion, read_answer, read_version

RETRIED_STATUSES = frozenset({429, 502, 503, 504})
FIRST_BACK_OFF = 0.25
MAX_BACK_OFF = 4.0
_MEDIA_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
_SHOWN_FAILURES = 5


def checked_url(url: str) -> str:
    """``url`` without a trailing slash, if it is an http(s) address with a host.

    Raises:
        ServiceError: anything else.

    Example:
        >>> checked_url("http://127.0.0.1:8000/")
        'http://127.0.0.1:8000'
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServiceError(f"{shown(url)} is not the address of a service; fix: write it as http://host:port")
    return url.strip().rstrip("/")


@dataclass(frozen=True)
class ServiceCard:
    """What the steps read of a model's card, for a service (its classes; every item it returns counts).

    Attributes:
        name: the service's address.
        task: detection or classification.
        classes: the classes it reports (data set words).
        score_threshold: 0: the service applies its own threshold; what users see is what counts.
    """

    name: str
    task: Task
    classes: tuple[str, ...]
    score_threshold: float = 0.0


@dataclass(frozen=True, eq=False)
class ServiceAnswers:
    """A service's answers on every picture of a data set, one row an item.

    Attributes:
        image_ids: (K,) int64.
        boxes: (K, 4) float64 xywh in picture pixels.
        scores: (K,) float64.
        labels: (K,) the class of each item (data set words).
        colours: (K,) the colour of each item (``""`` when the service names none).
        colour_scores: (K,) float64.
    """

    image_ids: NDArray[np.int64]
    boxes: NDArray[np.float64]
    scores: NDArray[np.float64]
    labels: NDArray[np.str_]
    colours: NDArray[np.str_]
    colour_scores: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.image_ids.shape[0])

    @classmethod
    def of(cls, image_ids: NDArray[np.int64], answers: list[PictureAnswer]) -> ServiceAnswers:
        """The answers of pictures ``image_ids`` (one each), as one table."""
        counts = [len(answer) for answer in answers]
        return cls(
            image_ids=frozen_array(np.repeat(image_ids, counts), np.int64),
            boxes=frozen_array(np.concatenate([a.boxes for a in answers]) if answers else np.zeros((0, 4)), np.float64),
            scores=frozen_array(np.concatenate([a.scores for a in answers]) if answers else [], np.float64),
            labels=np.asarray(np.concatenate([a.labels for a in answers]) if answers else [], dtype=np.str_),
            colours=np.asarray(np.concatenate([a.colours for a in answers]) if answers else [], dtype=np.str_),
            colour_scores=frozen_array(np.concatenate([a.colour_scores for a in answers]) if answers else [],
                                       np.float64),
        )

    def to_arrays(self) -> dict[str, NDArray[Any]]:
        """The cache payload."""
        return {"image_ids": self.image_ids, "boxes": self.boxes, "scores": self.scores, "labels": self.labels,
                "colours": self.colours, "colour_scores": self.colour_scores}

    @classmethod
    def from_arrays(cls, arrays: Any) -> ServiceAnswers:
        """From a cache payload."""
        return cls(frozen_array(arrays["image_ids"], np.int64),
                   frozen_array(np.asarray(arrays["boxes"]).reshape(-1, 4), np.float64),
                   frozen_array(arrays["scores"], np.float64), np.asarray(arrays["labels"], dtype=np.str_),
                   np.asarray(arrays["colours"], dtype=np.str_), frozen_array(arrays["colour_scores"], np.float64))


class ServiceClient:
    """One analysis service: its version, and uploads with bounded concurrency, timeouts and retries.

    Example:
        >>> client = ServiceClient.connect("http://127.0.0.1:8000", ServiceMapping())  # doctest: +SKIP
        >>> client.version.version  # doctest: +SKIP
        '0.1.0'
    """

    def __init__(self, url: str, mapping: ServiceMapping, http: httpx.Client, version: ServiceVersion) -> None:
        self.url = url
        self.mapping = mapping
        self.version = version
        self._http = http

    @classmethod
    def connect(cls, url: str, mapping: ServiceMapping) -> ServiceClient:
        """Open a client on ``url`` and read the service's version (retried like an upload).

        Raises:
            ServiceError: a bad address, or the version cannot be read.
        """
        address = checked_url(url)
        http = httpx.Client(base_url=address, timeout=httpx.Timeout(mapping.timeout),
                            limits=httpx.Limits(max_connections=mapping.concurrency), follow_redirects=False)
        try:
            response, problem = _with_retries(lambda: http.get(mapping.version_path), mapping.retries)
            if response is None or response.status_code != 200:
                status = problem if response is None else f"HTTP {response.status_code}: {_error_text(response)}"
                raise ServiceError(f"the analysis service at {address} did not say its version "
                                   f"({address}{mapping.version_path}: {status}); fix: start the service, or check "
                                   "the address and version_path in the service mapping")
            version = read_version(_json(response, f"{address}{mapping.version_path}"), mapping, address)
        except BaseException:
            http.close()
            raise
        return cls(address, mapping, http, version)

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def environment(self) -> dict[str, str]:
        """The service's address, version and reported model hashes, for the report's environment."""
        entries = {"Analysis service": self.url, "Analysis service version": self.version.version}
        entries.update({f"Analysis service {role} SHA-256": sha for role, sha in sorted(self.version.models.items())})
        return entries

    def classes(self, role: str) -> tuple[str, ...]:
        """The classes the service reports for ``role`` (``detector``, ``colour``), in the data set's words."""
        words = self.mapping.labels if role == "detector" else self.mapping.values
        if role == "colour" and self.mapping.colours:
            return self.mapping.colours
        return tuple(words.get(name, name) for name in self.version.classes.get(role, ()))

    def _key(self, kind: str, **parts: str) -> str:
        return cache_key({"kind": kind, "service": self.version.to_dict(), "mapping": self.mapping.answer_key(),
                          **parts})

    def answers(self, dataset: ImageSource, *, cache: PredictionCache | None = None,
                progress: ProgressCallback | None = None) -> ServiceAnswers:
        """The service's answers on every picture of ``dataset`` (from ``cache`` when it holds them).

        Raises:
            ServiceError: a picture failed or got a malformed answer (each named, with its HTTP status).
            DatasetError: a picture cannot be read.
        """
        def compute() -> dict[str, NDArray[Any]]:
            found = _Uploads(self, dataset, cache, progress).run()
            return ServiceAnswers.of(dataset.images.ids, found).to_arrays()

        if cache is None:
            return ServiceAnswers.from_arrays(compute())
        return ServiceAnswers.from_arrays(cache.get_or_compute(self._key("service-answers",
                                                                         dataset_digest=dataset.digest), compute))

    def picture_answer(self, dataset: ImageSource, row: int, cache: PredictionCache | None) -> PictureAnswer:
        """The answer on picture ``row`` (cached by the picture's SHA-256)."""
        path = dataset.image_path(row)
        name = f"{dataset.images.file_names[row]} (id {int(dataset.images.ids[row])})"
        try:
            data = path.read_bytes()
        except OSError as err:
            raise DatasetError(f"{path}: cannot be read ({err.strerror or err}); fix: restore the file") from err
        if cache is None:
            return self.analyse(data, path.name, name)
        key = self._key("service-answer", picture_sha256=hashlib.sha256(data).hexdigest())
        return PictureAnswer.from_arrays(cache.get_or_compute(key,
                                                              lambda: self.analyse(data, path.name, name).to_arrays()))

    def analyse(self, data: bytes, file_name: str, picture: str) -> PictureAnswer:
        """Upload one picture and read the answer.

        Raises:
            ServiceError: no answer after the retries, a non-200 answer, or a malformed one; names ``picture``.
        """
        media_type = _MEDIA_TYPES.get(file_name[file_name.rfind("."):].lower(), "application/octet-stream")
        files = {self.mapping.upload_field: (file_name, data, media_type)}
        response, problem = _with_retries(lambda: self._http.post(self.mapping.analyse_path, files=files),
                                          self.mapping.retries)
        if response is None:
            raise ServiceError(f"{picture}: {problem}")
        if response.status_code != 200:
            raise ServiceError(f"{picture}: HTTP {response.status_code}: {_error_text(response)}")
        payload = _json(response, picture)
        self._check_models(payload, picture)
        return read_answer(payload, self.mapping, picture)

    def _check_models(self, payload: object, picture: str) -> None:
        """An answer from other models than the version said (a deploy mid-run) would mix two services."""
        models = payload.get(self.mapping.models_field) if isinstance(payload, dict) else None
        if isinstance(models, dict) and self.version.models and models != dict(self.version.models):
            raise ServiceError(f"{picture}: answered by models {shown(models)}, but the service's version named "
                               f"{shown(dict(self.version.models))}: it changed during the run; fix: run again")


def _with_retries(send: Any, retries: int) -> tuple[httpx.Response | None, str]:
    """The first final response of ``send()`` within ``1 + retries`` tries, or None and why no answer came."""
    problem = ""
    for attempt in range(1 + retries):
        if attempt:
            time.sleep(min(FIRST_BACK_OFF * 2 ** (attempt - 1), MAX_BACK_OFF))
        try:
            response: httpx.Response = send()
        except httpx.TimeoutException as err:
            problem = f"no answer within the timeout ({type(err).__name__})"
            continue
        except httpx.TransportError as err:
            problem = f"no answer ({type(err).__name__}: {str(err) or 'connection failed'})"
            continue
        if response.status_code in RETRIED_STATUSES:
            problem = f"HTTP {response.status_code}: {_error_text(response)}"
            if attempt < retries:
                continue
        return response, problem
    tries = 1 + retries
    return None, f"{problem} after {tries} tr{'y' if tries == 1 else 'ies'}"


def _json(response: httpx.Response, where: str) -> object:
    try:
        return response.json()
    except ValueError:
        raise ServiceError(f"{where}: HTTP {response.status_code} but the body is not JSON "
                           f"({shown(response.text, 60)}); fix: the service") from None


def _error_text(response: httpx.Response) -> str:
    """The service's own error message (``{"error": {"message"}}``), else the start of the body."""
    try:
        payload = response.json()
    except ValueError:
        return shown(response.text.strip(), 160) if response.text.strip() else response.reason_phrase
    error = payload.get("error") if isinstance(payload, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    return str(message)[:300] if message else shown(payload, 160)


class _Uploads:
    """Every picture of a data set through the service: a bounded window of uploads, stopped by a failure."""

    def __init__(self, client: ServiceClient, dataset: ImageSource, cache: PredictionCache | None,
                 progress: ProgressCallback | None) -> None:
        self.client = client
        self.dataset = dataset
        self.cache = cache
        self.progress = progress
        self.total = len(dataset.images)
        self.found: list[PictureAnswer | None] = [None] * self.total
        self.failures: list[str] = []
        self.sent = 0

    def run(self) -> list[PictureAnswer]:
        """The answers in picture order, or a ``ServiceError`` naming every failed picture."""
        workers = self.client.mapping.concurrency
        rows = iter(range(self.total))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="visionspec-upload") as pool:
            pending: set[Future[None]] = set()
            while True:
                pending |= set(self._submit(pool, rows, 2 * workers - len(pending)))
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    future.result()
                if self.progress is not None:
                    self.progress(self.total - sum(answer is None for answer in self.found), self.total)
        if self.failures:
            raise self._error()
        return [answer for answer in self.found if answer is not None]

    def _submit(self, pool: ThreadPoolExecutor, rows: Iterator[int], room: int) -> Iterator[Future[None]]:
        for _ in range(room if not self.failures else 0):
            row = next(rows, None)
            if row is None:
                return
            self.sent += 1
            yield pool.submit(self._one, row)

    def _one(self, row: int) -> None:
        try:
            self.found[row] = self.client.picture_answer(self.dataset, row, self.cache)
        except ServiceError as err:
            self.failures.append(str(err))

    def _error(self) -> ServiceError:
        shown_failures = "; ".join(sorted(self.failures)[:_SHOWN_FAILURES])
        more = len(self.failures) - _SHOWN_FAILURES
        others = f"; and {more} more" if more > 0 else ""
        unsent = self.total - self.sent
        not_sent = f"; {unsent:,} of {self.total:,} pictures were not sent" if unsent else ""
        plural = "s" if len(self.failures) != 1 else ""
        return ServiceError(
            f"the analysis service at {self.client.url} failed on {len(self.failures):,} picture{plural}: "
            f"{shown_failures}{others}{not_sent}; fix: check that the service is up "
            f"({self.client.url}/v1/health) and read its log"
        )


class _ServiceSide:
    """What both sides of a service share: the client, and its address where a model's file would be shown."""

    def __init__(self, client: ServiceClient, card: ServiceCard) -> None:
        self.client = client
        self.card = card

    @property
    def path(self) -> str:
        """The service's address (where a model's file path would be shown)."""
        return self.client.url

    @property
    def name(self) -> str:
        """The service's address."""
        return self.client.url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.client.url}, version {self.client.version.version})"

    def environment(self) -> dict[str, str]:
        """See ``ServiceClient.environment``."""
        return self.client.environment()


class ServiceModel(_ServiceSide):
    """The service's detector side: its items as the detector's detections (``Workbench.detections``).

    Attributes:
        client: the service.
        card: its classes; score threshold 0 (every item it returns counts, unless a goal states a threshold).
    """

    def __init__(self, client: ServiceClient) -> None:
        super().__init__(client, ServiceCard(client.url, Task.DETECTION, client.classes("detector")))

    def detections(self, dataset: ImageSource, *, cache: PredictionCache | None = None,
                   progress: ProgressCallback | None = None) -> Detections:
        """The service's items on every picture of ``dataset``, by the data set's category ids.

        Items of a class the data set lacks are dropped (as a detector's classes); a service none of whose
        labels is a class of the data set is a ``ServiceError``.
        """
        found = self.client.answers(dataset, cache=cache, progress=progress)
        ids_by_name = {category.name: category.id for category in dataset.categories}
        category_ids = np.array([ids_by_name.get(str(label), -1) for label in found.labels], dtype=np.int64)
        if len(found) and not (category_ids >= 0).any():
            raise ServiceError(
                f"{self.client.url}: none of the service's labels ({', '.join(sorted(set(found.labels.tolist())))}) "
                f"is a class of the data set ({', '.join(ids_by_name)}); fix: map them under labels in the service "
                "mapping"
            )
        keep = category_ids >= 0
        return Detections.build(found.image_ids[keep], category_ids[keep], found.boxes[keep], found.scores[keep])

    def classify(self, dataset: ImageSource, image_ids: NDArray[np.int64], boxes: NDArray[np.float64], *,
                 cache: PredictionCache | None = None, progress: ProgressCallback | None = None) -> Classifications:
        """A detector classifies nothing: the colour side is ``ServiceColourModel``."""
        raise ServiceError(f"{self.client.url}: the service's detector side was given as the colour model")


class ServiceColourModel(_ServiceSide):
    """The service's colour side: the colour it gave each of its own items (``Workbench.classify``).

    It names the colour of the boxes it reported itself only: the colour model alone, on the annotated
    boxes, is judged on its ONNX export.
    """

    def __init__(self, client: ServiceClient) -> None:
        super().__init__(client, ServiceCard(client.url, Task.CLASSIFICATION, client.classes("colour")))

    def detections(self, dataset: ImageSource, *, cache: PredictionCache | None = None,
                   progress: ProgressCallback | None = None) -> Detections:
        """The colour side detects nothing: the detector side is ``ServiceModel``."""
        raise ServiceError(f"{self.client.url}: the service's colour side was given as the detector")

    def classify(self, dataset: ImageSource, image_ids: NDArray[np.int64], boxes: NDArray[np.float64], *,
                 cache: PredictionCache | None = None, progress: ProgressCallback | None = None) -> Classifications:
        """The service's colour of each box, which must be one of its own items on that picture.

        Raises:
            ServiceError: a box the service did not report (the colour model alone cannot be judged through it),
                or a service that names no colours.
        """
        if not self.card.classes:
            raise ServiceError(f"{self.client.url}: the service does not list its colours (in /v1/version "
                               "'classes'); fix: list them under colours in the service mapping")
        found = self.client.answers(dataset, cache=cache, progress=progress)
        rows = np.array([self._item(found, int(image_id), box, dataset) for image_id, box in
                         zip(image_ids, np.asarray(boxes, np.float64).reshape(-1, 4), strict=True)], dtype=np.int64)
        colours = found.colours[rows] if len(rows) else np.zeros(0, np.str_)
        classes = self.card.classes + tuple(sorted(set(colours.tolist()) - set(self.card.classes)))
        indices = np.array([classes.index(str(colour)) for colour in colours], dtype=np.int64)
        probabilities = np.zeros((len(rows), len(classes)))
        if len(rows):
            probabilities[np.arange(len(rows)), indices] = found.colour_scores[rows]
        return Classifications(classes, frozen_array(image_ids, np.int64), frozen_array(boxes, np.float64),
                               frozen_array(indices, np.int64), frozen_array(probabilities, np.float64),
                               provider=f"service {self.client.url}")

    def _item(self, found: ServiceAnswers, image_id: int, box: NDArray[np.float64], dataset: ImageSource) -> int:
        """The row of the service's item with exactly this box on this picture."""
        same = (found.image_ids == image_id) & (np.abs(found.boxes - box).max(axis=1, initial=0.0) <= 1e-6)
        if not same.any():
            raise ServiceError(
                f"picture id {image_id}: the service reported no item at box {box.tolist()}: it names the colour of "
                "the objects it found itself only; fix: judge the colour model alone (the annotated objects) on its "
                "ONNX export (Given the candidate colour model)"
            )
        return int(np.flatnonzero(same)[0])
