"""The evidence of a comparison goal: contact sheets of the boxes where the service and the candidate differ.

Annotated objects are drawn green as on every sheet; the orange boxes are the side the sheet is about
(the service's boxes on "Only the service reported", the candidate's on "Only the candidate reported").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from visionspec.datasets.tables import AnnotationTable
from visionspec.detections import Detections
from visionspec.report.evidence import DEFAULT_LIMIT, Focus, Tile, TileSet
from visionspec.service.comparison import Agreement


def _tiles(
    title: str,
    boxes: Detections,
    rows: NDArray[np.intp],
    captions: Callable[[int], tuple[str, ...]],
    annotations: AnnotationTable,
    image_path: Callable[[int], Path],
) -> TileSet:
    """One tile a box of ``rows`` (by picture id, then most confident first), capped."""
    ordered = rows[np.lexsort((-boxes.scores[rows], boxes.image_ids[rows]))][:DEFAULT_LIMIT]
    tiles = []
    for row in ordered:
        image_id = int(boxes.image_ids[row])
        x, y, w, h = (float(value) for value in boxes.boxes[row])
        tiles.append(Tile(image_path(image_id), (x, y, w, h), Focus.PREDICTION,
                          annotations.boxes[annotations.image_ids == image_id],
                          boxes.boxes[boxes.image_ids == image_id], captions(int(row))))
    return TileSet(title, tuple(tiles), len(rows), "by picture")


def disagreement_tiles(
    agreement: Agreement, annotations: AnnotationTable, image_path: Callable[[int], Path]
) -> list[TileSet]:
    """Three sheets: boxes only the service reported, boxes only the candidate reported, colours that differ."""
    service, candidate = agreement.service, agreement.candidate

    def service_caption(row: int) -> tuple[str, ...]:
        colour = f" · {agreement.service_colours[row]}" if agreement.service_colours[row] else ""
        return f"image {int(service.image_ids[row])} · score {service.scores[row]:.2f}{colour}", "candidate: no box"

    def candidate_caption(row: int) -> tuple[str, ...]:
        colour = f" · {agreement.candidate_colours[row]}" if agreement.candidate_colours[row] else ""
        return f"image {int(candidate.image_ids[row])} · score {candidate.scores[row]:.2f}{colour}", "service: no box"

    def colour_caption(row: int) -> tuple[str, ...]:
        mine = agreement.candidate_colours[agreement.paired_with[row]]
        return f"image {int(service.image_ids[row])}", f"service {agreement.service_colours[row]}, candidate {mine}"

    return [
        _tiles("Only the service reported", service, np.flatnonzero(agreement.service_only), service_caption,
               annotations, image_path),
        _tiles("Only the candidate reported", candidate, np.flatnonzero(agreement.candidate_only),
               candidate_caption, annotations, image_path),
        _tiles("Named another colour by the service", service, np.flatnonzero(agreement.named_differently),
               colour_caption, annotations, image_path),
    ]
