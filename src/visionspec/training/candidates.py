"""Training data for the detector's second stage: its own candidates on the training pictures, labelled.

The trained first stage runs over every training picture exactly as the exported graph does (mirror
averaging, decode, duplicate suppression). Each candidate scoring at least ``MINED_SCORE`` is labelled
by its best IoU with the picture's objects: a balloon from ``POSITIVE_IOU`` up, not a balloon below
``NEGATIVE_IOU`` (in between: left out, neither answer is right). The negatives are the detector's own
false alarms (red balls, apples, suns, signs), the hard negatives no random sampling would find. The
objects' own boxes, jittered as the colour model's are (``jitter_boxes``), are added as balloons, so
that every object is seen, found or not. Crops are cut by ``sample_crops``, the function the exported graph uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from visionspec.metrics.iou import box_iou
from visionspec.runtime.boxes import xywh_to_xyxy, xyxy_to_xywh
from visionspec.runtime.card import InputSpec
from visionspec.training.crop_data import jitter_boxes
from visionspec.training.data import PlacedImages, to_input_tensor
from visionspec.training.detector import BalloonDetector
from visionspec.training.verifier import sample_crops

MINED_SCORE = 0.15
"""Candidates scoring at least this are mined (the card's threshold is twice that)."""

POSITIVE_IOU = 0.5
"""A candidate overlapping an object by at least this is a balloon (the product's match IoU)."""

NEGATIVE_IOU = 0.3
"""A candidate overlapping every object by less than this is not a balloon."""

# Brightness factor of a training crop, drawn from 1 +- this.
_BRIGHTNESS_JITTER = 0.1
# Pictures per mining pass: (64, 3, 256, 256) float inputs and their mirror images.
_MINING_BATCH = 64


@dataclass(frozen=True, eq=False)
class VerifierCrops:
    """Labelled crops for the verifier.

    Attributes:
        crops: (M, 3, S, S) float32, normalised as the detector's input.
        labels: (M,) float32, 1 for a balloon, 0 for anything else.
        mined: how many of the crops are the detector's candidates (the rest are jittered objects).
    """

    crops: Tensor
    labels: Tensor
    mined: int

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def negatives(self) -> int:
        """Crops labelled not a balloon."""
        return int((self.labels == 0).sum())


def mine_crops(detector: BalloonDetector, images: PlacedImages, spec: InputSpec, *, seed: int) -> VerifierCrops:
    """Run the first stage over ``images`` and cut labelled crops of its candidates and of the objects.

    Args:
        detector: the trained network (its first stage is used; it is left in eval mode).
        images: the training pictures, placed in the input frame, with their objects.
        spec: the card's input (the normalisation).
        seed: seeds the jitter of the objects' boxes.
    """
    detector.eval()
    rng = np.random.default_rng(seed)
    crops: list[Tensor] = []
    labels: list[NDArray[np.float32]] = []
    mined = 0
    with torch.no_grad():
        for start in range(0, len(images), _MINING_BATCH):
            rows = range(start, min(start + _MINING_BATCH, len(images)))
            inputs = to_input_tensor(torch.from_numpy(images.pixels[start : rows.stop]), spec).contiguous()
            boxes, scores, _ = detector.candidates(inputs)
            candidate_crops = sample_crops(inputs, boxes)
            truths = [images.boxes[row] for row in rows]
            best = np.stack([_best_iou(boxes[i].numpy(), truth) for i, truth in enumerate(truths)])
            verdict = np.where(best >= POSITIVE_IOU, 1.0, np.where(best < NEGATIVE_IOU, 0.0, np.nan))
            keep = (scores.numpy() >= MINED_SCORE) & ~np.isnan(verdict)
            crops.append(candidate_crops[torch.from_numpy(keep.reshape(-1))])
            labels.append(verdict[keep].astype(np.float32))
            mined += int(keep.sum())
            objects = _padded([xywh_to_xyxy(jitter_boxes(xyxy_to_xywh(truth), rng)) for truth in truths])
            object_crops = sample_crops(inputs, torch.from_numpy(np.nan_to_num(objects)))
            real = torch.from_numpy(~np.isnan(objects[..., 0]).reshape(-1))
            crops.append(object_crops[real])
            labels.append(np.ones(int(real.sum()), np.float32))
    return VerifierCrops(torch.cat(crops), torch.from_numpy(np.concatenate(labels)), mined)


def crop_batches(data: VerifierCrops, *, batch_size: int, rng: np.random.Generator) -> Iterator[tuple[Tensor, Tensor]]:
    """One pass over the crops in random order, each mirrored with probability 1/2 and brightness-jittered."""
    order = torch.from_numpy(rng.permutation(len(data)))
    for start in range(0, len(data), batch_size):
        picks = order[start : start + batch_size]
        crops = data.crops[picks]
        flips = torch.from_numpy(rng.random(len(picks)) < 0.5)
        crops = torch.where(flips.view(-1, 1, 1, 1), crops.flip(3), crops)
        brightness = torch.from_numpy(1 + rng.uniform(-_BRIGHTNESS_JITTER, _BRIGHTNESS_JITTER, len(picks)))
        yield crops * brightness.to(torch.float32).view(-1, 1, 1, 1), data.labels[picks]


def _best_iou(boxes: NDArray[np.float32], truth: NDArray[np.float64]) -> NDArray[np.float64]:
    """(K,) best IoU of each xyxy box with the (n, 4) xyxy objects (0 without objects)."""
    if len(truth) == 0:
        return np.zeros(len(boxes))
    best: NDArray[np.float64] = box_iou(xyxy_to_xywh(boxes.astype(np.float64)), xyxy_to_xywh(truth)).max(axis=1)
    return best


def _padded(boxes: list[NDArray[np.float64]]) -> NDArray[np.float32]:
    """(B, n_max, 4) float32 boxes, NaN where a picture has fewer (at least one slot, for empty batches)."""
    padded = np.full((len(boxes), max(1, *(len(b) for b in boxes)), 4), np.nan, np.float32)
    for row, picture_boxes in enumerate(boxes):
        padded[row, : len(picture_boxes)] = picture_boxes
    return padded
