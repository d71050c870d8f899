"""A service against the candidate detector (and colour model), picture by picture.

On a picture the two agree when their boxes pair up one to one (same class, IoU at least the goal's,
greedy by the candidate's score) with nothing left over on either side, and each pair has the same colour
(when both name colours). The candidate's boxes count at its card's score threshold, the service's are all
it returned (a scenario's stated threshold applies to both): a service applying another threshold, other
preprocessing or a stale model disagrees on the pictures where that shows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from visionspec.detections import Detections
from visionspec.evaluation import DetectionResult
from visionspec.goals.verdict import Measurement
from visionspec.metrics.iou import box_iou


@dataclass(frozen=True, eq=False)
class Agreement:
    """Which pictures the service and the candidate agree on, and where they differ.

    Attributes:
        image_ids: (I,) the pictures compared (the scope's).
        agreed: (I,) whether they agree on each.
        candidate: the candidate's reported boxes (at its threshold, of the scope's classes).
        candidate_colours: the candidate chain's colour of each (``""`` without colours).
        service: the service's reported boxes.
        service_colours: the service's colour of each.
        candidate_only: (C,) candidate boxes the service did not report.
        service_only: (S,) service boxes the candidate did not report.
        paired_with: (S,) the candidate row each service box pairs with (-1: none).
        named_differently: (S,) paired service boxes whose colour differs from the candidate's.
    """

    image_ids: NDArray[np.int64]
    agreed: NDArray[np.bool_]
    candidate: Detections
    candidate_colours: NDArray[np.str_]
    service: Detections
    service_colours: NDArray[np.str_]
    candidate_only: NDArray[np.bool_]
    service_only: NDArray[np.bool_]
    paired_with: NDArray[np.int64]
    named_differently: NDArray[np.bool_]

    def measurement(self, noun: str) -> Measurement:
        """Pictures the two agree on, of the pictures compared."""
        return Measurement.proportion("agreement with the candidate", int(self.agreed.sum()), len(self.image_ids),
                                      noun, label="the service agreed with the candidate detector on")

    def to_dict(self) -> dict[str, int]:
        """The counts of the evidence table."""
        return {
            "pictures compared": len(self.image_ids),
            "pictures agreed on": int(self.agreed.sum()),
            "boxes reported by the candidate": len(self.candidate),
            "boxes reported by the service": len(self.service),
            "boxes only the candidate reported": int(self.candidate_only.sum()),
            "boxes only the service reported": int(self.service_only.sum()),
            "boxes named another colour": int(self.named_differently.sum()),
        }


def _reported(result: DetectionResult, colours: NDArray[np.str_] | None) -> tuple[Detections, NDArray[np.str_]]:
    """The detections a result reports on its scope's classes, and their colours."""
    mask = result.kept & np.isin(result.detections.category_ids, result.scope.category_ids)
    named = colours[mask] if colours is not None else np.full(int(mask.sum()), "", dtype=np.str_)
    return result.detections.take(mask), np.asarray(named, dtype=np.str_)


def _pairs(candidate: Detections, service: Detections, iou: float) -> NDArray[np.int64]:
    """(S,) the candidate row each service box pairs with (-1: none); greedy by the candidate's score."""
    paired = np.full(len(service), -1, dtype=np.int64)
    for image_id in np.intersect1d(candidate.image_ids, service.image_ids):
        mine = np.flatnonzero(candidate.image_ids == image_id)
        theirs = np.flatnonzero(service.image_ids == image_id)
        overlaps = box_iou(candidate.boxes[mine], service.boxes[theirs])  # (c, s)
        overlaps[candidate.category_ids[mine][:, None] != service.category_ids[theirs][None, :]] = -1.0
        taken = np.zeros(len(theirs), dtype=bool)
        for row in np.argsort(-candidate.scores[mine], kind="stable"):
            choices = np.where(taken, -1.0, overlaps[row])
            best = int(np.argmax(choices))
            if choices[best] >= iou:
                taken[best] = True
                paired[theirs[best]] = mine[row]
    return paired


def compare(
    candidate: DetectionResult,
    service: DetectionResult,
    *,
    candidate_colours: NDArray[np.str_] | None = None,
    service_colours: NDArray[np.str_] | None = None,
) -> Agreement:
    """The service's result against the candidate's on the same scope, picture by picture.

    Args:
        candidate: the candidate detector on the scope (its thresholds: the card's score, the goal's IoU).
        service: the service on the same scope.
        candidate_colours: (D,) the candidate chain's colour of each of ``candidate.detections`` (None: boxes only).
        service_colours: (D',) the service's colour of each of ``service.detections`` (None: boxes only).
    """
    mine, my_colours = _reported(candidate, candidate_colours)
    theirs, their_colours = _reported(service, service_colours)
    paired = _pairs(mine, theirs, candidate.thresholds.iou)
    candidate_only = ~np.isin(np.arange(len(mine)), paired)
    service_only = paired < 0
    compare_colours = candidate_colours is not None and service_colours is not None
    named_differently = np.zeros(len(theirs), dtype=bool)
    if compare_colours and len(theirs):
        hit = ~service_only
        named_differently[hit] = my_colours[paired[hit]] != their_colours[hit]
    image_ids = np.asarray(candidate.scope.dataset.images.ids, dtype=np.int64)
    differing = np.union1d(np.union1d(mine.image_ids[candidate_only], theirs.image_ids[service_only]),
                           theirs.image_ids[named_differently])
    return Agreement(image_ids, ~np.isin(image_ids, differing), mine, my_colours, theirs, their_colours,
                     candidate_only, service_only, paired, named_differently)
