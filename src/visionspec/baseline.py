"""A candidate detector against a baseline on the same pictures: flip lists and paired differences.

Both detectors are matched on the same scope with the same thresholds (``DetectionResult``), so every
annotated object has two outcomes, found or missed, one per detector. That pairing gives:

- the **flip lists**: objects *newly missed* (the baseline found them, the candidate does not), objects
  *newly found* (the other way round), and *new false alarms*: the candidate's false alarms that no false
  alarm of the baseline matches (same image and class, IoU at least the goal's, one to one, most
  confident first). The baseline's false alarms that the candidate no longer raises are *gone*.
- the **paired difference of recall** (candidate minus baseline) with its 95% interval. The interval is
  Newcombe's hybrid score interval for paired proportions (Newcombe 1998, Statistics in Medicine 17,
  2635-2650, method 10): the Wilson intervals of both recalls, combined with the correlation of the
  paired outcomes (with its continuity correction). It stays inside [-1, 1], is sensible with few
  discordant pairs, and agrees with the R package ``contingencytables``
  (``Newcombe_square_and_add_CI_paired_2x2``) to four decimals on its published example.

Example:
    >>> change = paired_difference(both=59, only_candidate=6, only_baseline=16, neither=80)
    >>> str(change)
    '-6.2 points (95% CI -11.9 to -0.5 points) on 161 objects: 6 newly found, 16 newly missed'
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from visionspec.detections import Detections
from visionspec.errors import GoalPhraseError
from visionspec.evaluation import DetectionResult
from visionspec.goals import Comparison, Goal, Measurement, Quantity, Verdict
from visionspec.goals.verdict import DEFAULT_LEVEL, Status, Unit
from visionspec.metrics.intervals import Z95, wilson_interval
from visionspec.metrics.iou import box_iou
from visionspec.metrics.results import Interval
from visionspec.report.evidence import TileSet, false_alarm_tiles, miss_tiles
from visionspec.report.tables import Badge, Cell, html_table

POINTS_FORMS = '1 point, 2 points, 0.5 points, 1%'
_POINTS_RE = re.compile(r"^(?P<number>\d+(?:\.\d+)?|\.\d+)\s?(?:points?|%)$")


def parse_points(text: str) -> float:
    """A drop in percentage points as people write it, as a fraction: ``1 point`` -> 0.01.

    Raises:
        GoalPhraseError: not a number of points; the message quotes the text and the accepted forms.

    Example:
        >>> parse_points("2 points"), parse_points("0.5 points"), parse_points("1%")
        (0.02, 0.005, 0.01)
    """
    match = _POINTS_RE.match(" ".join(text.strip().split()))
    if match is None:
        raise GoalPhraseError(f'"{text}" is not a number of points; accepted forms: {POINTS_FORMS}')
    return float(match["number"]) / 100


def _points(fraction: float, *, signed: bool = True) -> str:
    """A difference of rates in percentage points: ``+3.0``, ``-0.5``."""
    return f"{100 * fraction:+.1f}" if signed else f"{100 * fraction:.1f}"


def _point_count(fraction: float) -> str:
    """``1 point``, ``2 points``, ``0.5 points``: a goal's allowance as the tester wrote it."""
    points = round(100 * fraction, 6)
    return f"{points:g} point" + ("" if points == 1 else "s")


class SignedInterval(Interval):
    """An interval of a difference of rates, in [-1, 1]; reads in percentage points."""

    def __str__(self) -> str:
        return f"{_points(self.low)} to {_points(self.high)} points"


@dataclass(frozen=True)
class PairedDifference:
    """Recall of a candidate minus recall of a baseline on the same objects, with Newcombe's 95% interval.

    Attributes:
        both: objects both found.
        only_candidate: objects only the candidate found (newly found).
        only_baseline: objects only the baseline found (newly missed).
        neither: objects neither found.
        interval: the 95% interval of the difference; None without objects.
    """

    both: int
    only_candidate: int
    only_baseline: int
    neither: int
    interval: SignedInterval | None

    @property
    def total(self) -> int:
        """Objects compared."""
        return self.both + self.only_candidate + self.only_baseline + self.neither

    @property
    def candidate_found(self) -> int:
        """Objects the candidate found."""
        return self.both + self.only_candidate

    @property
    def baseline_found(self) -> int:
        """Objects the baseline found."""
        return self.both + self.only_baseline

    @property
    def difference(self) -> float | None:
        """Candidate recall minus baseline recall; None without objects."""
        return (self.only_candidate - self.only_baseline) / self.total if self.total else None

    def __str__(self) -> str:
        flips = f"{self.only_candidate:,} newly found, {self.only_baseline:,} newly missed"
        if self.difference is None:
            return f"no objects to compare: {flips}"
        return f"{_points(self.difference)} points (95% CI {self.interval}) on {self.total:,} objects: {flips}"


def paired_difference(
    *, both: int, only_candidate: int, only_baseline: int, neither: int, z: float = Z95
) -> PairedDifference:
    """The paired difference of two proportions with Newcombe's hybrid score interval (method 10).

    Args:
        both: successes of both.
        only_candidate: successes of the candidate only.
        only_baseline: successes of the baseline only.
        neither: failures of both.
        z: the normal quantile; the default gives a 95% interval.

    Returns:
        The difference ``candidate - baseline`` and its interval (None when there are no pairs).
    """
    counts = (both, only_candidate, only_baseline, neither)
    if min(counts) < 0:
        raise ValueError(f"paired_difference: counts must be non-negative, got {counts}")
    total = sum(counts)
    if total == 0:
        return PairedDifference(*counts, interval=None)
    candidate_successes, baseline_successes = both + only_candidate, both + only_baseline
    candidate_rate, baseline_rate = candidate_successes / total, baseline_successes / total
    candidate_interval = wilson_interval(candidate_successes, total, z)
    baseline_interval = wilson_interval(baseline_successes, total, z)
    assert candidate_interval is not None and baseline_interval is not None
    phi = _correlation(both, only_candidate, only_baseline, neither)
    below_candidate, above_candidate = candidate_rate - candidate_interval.low, candidate_interval.high - candidate_rate
    below_baseline, above_baseline = baseline_rate - baseline_interval.low, baseline_interval.high - baseline_rate
    difference = candidate_rate - baseline_rate
    low = difference - math.sqrt(
        max(below_candidate**2 - 2 * phi * below_candidate * above_baseline + above_baseline**2, 0.0)
    )
    high = difference + math.sqrt(
        max(above_candidate**2 - 2 * phi * above_candidate * below_baseline + below_baseline**2, 0.0)
    )
    return PairedDifference(*counts, interval=SignedInterval(max(-1.0, low), min(1.0, high)))


def _correlation(both: int, only_candidate: int, only_baseline: int, neither: int) -> float:
    """Newcombe's continuity-corrected phi between the paired outcomes (0 when a margin is empty)."""
    total = both + only_candidate + only_baseline + neither
    margins = (
        (both + only_candidate) * (only_baseline + neither) * (both + only_baseline) * (only_candidate + neither)
    )
    if margins == 0:
        return 0.0
    agreement = both * neither - only_candidate * only_baseline
    if agreement > total / 2:
        return (agreement - total / 2) / math.sqrt(margins)
    return 0.0 if agreement >= 0 else agreement / math.sqrt(margins)


def _false_alarms(count: int) -> str:
    return "false alarm" if count == 1 else "false alarms"


@dataclass(frozen=True)
class FlipCounts:
    """How many objects and false alarms changed between the baseline and the candidate."""

    newly_missed: int
    newly_found: int
    new_false_alarms: int
    false_alarms_gone: int

    def __str__(self) -> str:
        return (
            f"{self.newly_missed:,} newly missed, {self.newly_found:,} newly found, "
            f"{self.new_false_alarms:,} new {_false_alarms(self.new_false_alarms)}, "
            f"{self.false_alarms_gone:,} {_false_alarms(self.false_alarms_gone)} gone"
        )

    def to_dict(self) -> dict[str, int]:
        """Plain data for JSON and tables."""
        return {
            "newly missed": self.newly_missed,
            "newly found": self.newly_found,
            "new false alarms": self.new_false_alarms,
            "false alarms gone": self.false_alarms_gone,
        }


@dataclass(frozen=True, eq=False, repr=False)
class BaselineComparison:
    """A candidate and a baseline detector matched on the same scope at the same thresholds.

    Build it with ``BaselineComparison.against`` so the pairing holds by construction.

    Attributes:
        candidate: the detector under test on the scope.
        baseline: the baseline detector on the same scope and thresholds.
    """

    candidate: DetectionResult
    baseline: DetectionResult
    baseline_name: str = "the baseline"

    @classmethod
    def against(
        cls, candidate: DetectionResult, baseline_detections: Detections, *, baseline_name: str = "the baseline"
    ) -> BaselineComparison:
        """Judge ``baseline_detections`` on the candidate's scope with the candidate's thresholds."""
        baseline = DetectionResult.on(candidate.scope, baseline_detections, candidate.thresholds)
        return cls(candidate, baseline, baseline_name)

    def __repr__(self) -> str:
        # short: Allure and pytest show step arguments with repr(), and whole arrays would take seconds
        scope = self.candidate.scope
        return f"BaselineComparison({scope.noun} of data set {scope.dataset.id}, against {self.baseline_name})"

    @cached_property
    def counted(self) -> NDArray[np.bool_]:
        """(N,) objects of the scope that both results count (crowd regions never are)."""
        return self.candidate.counted_objects & self.baseline.counted_objects

    @property
    def newly_missed(self) -> NDArray[np.bool_]:
        """(N,) counted objects the baseline found and the candidate misses."""
        return self.counted & self.baseline.found_objects & ~self.candidate.found_objects

    @property
    def newly_found(self) -> NDArray[np.bool_]:
        """(N,) counted objects the baseline missed and the candidate finds."""
        return self.counted & ~self.baseline.found_objects & self.candidate.found_objects

    @cached_property
    def _false_alarm_pairs(self) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
        """(D_candidate,), (D_baseline,): false alarms that have a counterpart in the other detector."""
        candidate, baseline = self.candidate.matches, self.baseline.matches
        return _pair_false_alarms(
            candidate.detections, candidate.false_positives, baseline.detections, baseline.false_positives,
            self.candidate.thresholds.iou,
        )

    @property
    def new_false_alarms(self) -> NDArray[np.bool_]:
        """(D,) over the candidate's detections: false alarms that no baseline false alarm matches."""
        return self.candidate.matches.false_positives & ~self._false_alarm_pairs[0]

    @property
    def false_alarms_gone(self) -> NDArray[np.bool_]:
        """(D,) over the baseline's detections: its false alarms that the candidate no longer raises."""
        return self.baseline.matches.false_positives & ~self._false_alarm_pairs[1]

    def flips(self) -> FlipCounts:
        """How many objects and false alarms flipped."""
        return FlipCounts(
            newly_missed=int(self.newly_missed.sum()),
            newly_found=int(self.newly_found.sum()),
            new_false_alarms=int(self.new_false_alarms.sum()),
            false_alarms_gone=int(self.false_alarms_gone.sum()),
        )

    def recall_change(self, objects: NDArray[np.bool_] | None = None) -> PairedDifference:
        """Candidate recall minus baseline recall on the counted objects (only ``objects`` (N,) if given)."""
        counted = self.counted if objects is None else self.counted & objects
        found_candidate, found_baseline = self.candidate.found_objects, self.baseline.found_objects
        return paired_difference(
            both=int((counted & found_candidate & found_baseline).sum()),
            only_candidate=int((counted & found_candidate & ~found_baseline).sum()),
            only_baseline=int((counted & ~found_candidate & found_baseline).sum()),
            neither=int((counted & ~found_candidate & ~found_baseline).sum()),
        )

    def recall_change_by(self, attribute: str) -> dict[str, PairedDifference]:
        """The recall change for each declared value of ``attribute`` that has objects in scope.

        Raises:
            GoalPhraseError: the data set declares no such attribute.
        """
        dataset = self.candidate.scope.dataset
        declared = dataset.spec.attributes
        if attribute not in declared:
            raise GoalPhraseError(
                f'"{attribute}" is not an attribute of data set {dataset.id}; declared: {", ".join(declared) or "none"}'
            )
        values = dataset.annotations.attributes[attribute]
        scoped = self.counted & self.candidate.scope.objects
        return {
            value: self.recall_change(values == value)
            for value in declared[attribute]
            if (scoped & (values == value)).any()
        }

    def flip_tiles(self, *, attribute: str | None = None) -> tuple[TileSet, ...]:
        """Contact-sheet tiles: newly missed (largest first), newly found, new false alarms (most confident first).

        Args:
            attribute: the per-object attribute named in each tile's caption (e.g. ``colour``), or None.
        """
        dataset = self.candidate.scope.dataset
        rows = {int(image_id): row for row, image_id in enumerate(dataset.images.ids)}

        def image_path(image_id: int) -> Path:
            return dataset.image_path(rows[image_id])

        ground_truth = self.candidate.matches.ground_truth
        kept = self.candidate.kept
        judged = self.candidate.detections.take(kept)
        return (
            miss_tiles(ground_truth, self.newly_missed, judged, image_path, attribute=attribute,
                       title="Newly missed (the baseline found them)"),
            miss_tiles(ground_truth, self.newly_found, judged, image_path, attribute=attribute,
                       title="Newly found (the baseline missed them)"),
            false_alarm_tiles(judged, self.new_false_alarms[kept], ground_truth, image_path,
                              title="New false alarms (the baseline did not raise them)"),
        )


def _pair_false_alarms(
    first: Detections,
    first_false: NDArray[np.bool_],
    second: Detections,
    second_false: NDArray[np.bool_],
    iou: float,
) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Match false alarms of two detectors one to one: same image and class, IoU >= ``iou``, most confident first.

    Each of the first's false alarms, most confident first, takes the unmatched false alarm of the second
    that it overlaps most (COCO's greedy rule). One IoU matrix per image and class.

    Returns:
        (D1,) and (D2,) bool: the false alarms of each that found a counterpart.
    """
    paired_first, paired_second = np.zeros(len(first), bool), np.zeros(len(second), bool)
    first_rows, second_rows = np.flatnonzero(first_false), np.flatnonzero(second_false)
    groups: dict[tuple[int, int], list[int]] = {}
    for row in second_rows.tolist():
        groups.setdefault((int(second.image_ids[row]), int(second.category_ids[row])), []).append(row)
    by_group: dict[tuple[int, int], list[int]] = {}
    for row in first_rows[np.argsort(-first.scores[first_rows], kind="stable")].tolist():
        key = (int(first.image_ids[row]), int(first.category_ids[row]))
        if key in groups:
            by_group.setdefault(key, []).append(row)
    for key, rows in by_group.items():
        others = np.asarray(groups[key])
        overlaps = box_iou(first.boxes[rows], second.boxes[others])  # (rows, others), rows most confident first
        for index, row in enumerate(rows):
            best = int(np.argmax(overlaps[index]))
            if overlaps[index, best] >= iou:
                paired_first[row] = True
                paired_second[others[best]] = True
                overlaps[:, best] = -1.0  # taken
    return paired_first, paired_second


# --- Verdicts ---------------------------------------------------------------------------------------


def recall_drop_verdict(
    change: PairedDifference, noun: str, max_drop: float, *, confident: bool = False
) -> Verdict:
    """Judge "recall should not drop by more than ``max_drop``" on a paired difference.

    The point estimate of the difference is compared, or with ``confident`` the interval's lower bound
    (non-inferiority at 95%).

    Example:
        >>> change = paired_difference(both=8, only_candidate=1, only_baseline=2, neither=1)
        >>> print(recall_drop_verdict(change, "balloons", 0.05).message)  # doctest: +NORMALIZE_WHITESPACE
        balloons: recall 75.0% (9 of 12) against 83.3% (10 of 12) on the baseline, -8.3 points
        (95% CI -39.0 to +24.1 points); 1 newly found, 2 newly missed; goal: a drop of at most 5 points;
        short by 3.3 points
    """
    bound = -max_drop
    goal = Goal(Comparison.AT_LEAST, Quantity(bound, is_rate=True, sample=None, text=f"{100 * bound:g}%"),
                DEFAULT_LEVEL if confident else None)
    measurement = Measurement(
        f"recall change of {noun}", f"recall change of {noun}", noun, change.difference, None, change.total,
        change.interval,
        Unit.POINTS,
    )
    wanted = f"a drop of at most {_point_count(max_drop)}" + (
        " with 95% confidence" if confident else ""
    )
    if change.difference is None or change.interval is None:
        raise GoalPhraseError(f"{noun}: none to compare; goal: {wanted}; cannot be judged on an empty sample")
    compared = change.interval.low if confident else change.difference
    margin = compared - bound
    met = margin >= 0
    total = change.total
    sentence = (
        f"{noun}: recall {change.candidate_found / total:.1%} ({change.candidate_found:,} of {total:,}) against "
        f"{change.baseline_found / total:.1%} ({change.baseline_found:,} of {total:,}) on the baseline, "
        f"{_points(change.difference)} points (95% CI {change.interval}); {change.only_candidate:,} newly found, "
        f"{change.only_baseline:,} newly missed; goal: {wanted}; "
        + (f"met with {_points(margin, signed=False)} points to spare" if met else
           f"short by {_points(-margin, signed=False)} points")
    )
    return Verdict(goal, measurement, Status.MET if met else Status.MISSED, margin, sentence)


def improvement_verdict(
    label: str, candidate: float | None, baseline: float | None, sample: int, noun: str, flips: FlipCounts
) -> Verdict:
    """Judge "``label`` should improve on the baseline": strictly higher than the baseline's figure.

    Example:
        >>> flips = FlipCounts(newly_missed=3, newly_found=9, new_false_alarms=1, false_alarms_gone=4)
        >>> print(improvement_verdict("box mAP@.50", 0.91, 0.88, 500, "images", flips).message)
        ... # doctest: +NORMALIZE_WHITESPACE
        box mAP@.50 0.910 against 0.880 on the baseline (+0.030) on 500 images; 3 newly missed, 9 newly found,
        1 new false alarm, 4 false alarms gone; goal: improve on the baseline; met with 0.030 to spare
    """
    goal = Goal(Comparison.MORE_THAN, Quantity(0.0, is_rate=True, sample=None, text="0"))
    difference = None if candidate is None or baseline is None else candidate - baseline
    measurement = Measurement(f"{label} change against the baseline", f"{label} change against the baseline", noun,
                              difference, None,
                              sample, None, Unit.SCORE)
    if candidate is None or baseline is None or difference is None:
        shown = ", ".join(f"{name} {'undefined' if value is None else f'{value:.3f}'}"
                          for name, value in (("candidate", candidate), ("baseline", baseline)))
        raise GoalPhraseError(f"{label}: {shown} on {sample:,} {noun}; goal: improve on the baseline; cannot be judged")
    met = difference > 0
    outcome = (f"met with {difference:.3f} to spare" if met else
               "short: unchanged" if difference == 0 else f"short by {-difference:.3f}")
    sentence = (
        f"{label} {candidate:.3f} against {baseline:.3f} on the baseline ({difference:+.3f}) on {sample:,} {noun}; "
        f"{flips}; goal: improve on the baseline; {outcome}"
    )
    return Verdict(goal, measurement, Status.MET if met else Status.MISSED, difference, sentence)


def per_value_verdicts(
    changes: Mapping[str, PairedDifference], noun: str, max_drop: float, *, confident: bool = False
) -> list[Verdict]:
    """One recall-drop verdict per attribute value, e.g. one a colour: ``red balloons: recall ...``."""
    return [recall_drop_verdict(change, f"{value} {noun}", max_drop, confident=confident)
            for value, change in changes.items()]


def recall_change_table(changes: Mapping[str, PairedDifference], verdicts: Sequence[Verdict]) -> str:
    """One row a group (all balloons, or one a colour): both recalls, the change and its interval, the flips.

    Returns:
        An HTML page for the report (``allure.attach(..., attachment_type=HTML)``).
    """
    rows: list[Sequence[Cell]] = []
    for (group, change), verdict in zip(changes.items(), verdicts, strict=True):
        total = change.total
        rows.append((
            group,
            total,
            f"{change.baseline_found / total:.1%}" if total else None,
            f"{change.candidate_found / total:.1%}" if total else None,
            None if change.difference is None else f"{_points(change.difference)} points",
            None if change.interval is None else str(change.interval),
            change.only_candidate,
            change.only_baseline,
            Badge("met", "good") if verdict.met else Badge("missed", "bad"),
        ))
    header = ("objects", "counted", "baseline recall", "candidate recall", "change", "95% CI (Newcombe, paired)",
              "newly found", "newly missed", "verdict")
    return html_table(header, rows, caption="Recall against the baseline, on the same objects")
