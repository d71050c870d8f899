"""``visionspec train detector|colour``: the reference recipes (needs the ``train`` extra: torch)."""

from __future__ import annotations

import argparse
import json
import sys
from importlib import import_module
from pathlib import Path
from typing import Any

from visionspec.goals.verdict import ExitCode

# model kind -> (recipe module, its training function, the model's name)
_KINDS = {
    "detector": ("visionspec.training.detector_recipe", "train_detector", "balloon-detector"),
    "colour": ("visionspec.training.colour_recipe", "train_colour", "balloon-colour"),
}
_DEFAULT_EPOCHS = {"detector": 16, "colour": 6}


def register(subparsers: Any) -> None:
    """Add the ``train`` command group."""
    parser = subparsers.add_parser("train", help="train a reference model, one checked ONNX checkpoint an epoch")
    kinds = parser.add_subparsers(dest="train_kind", required=True, metavar="MODEL")
    for kind, (_, _, name) in _KINDS.items():
        command = kinds.add_parser(kind, help=f"train {name} into models/{name}/checkpoints/epoch-NN.onnx")
        epochs = _DEFAULT_EPOCHS[kind]
        command.add_argument("--epochs", type=_positive, default=epochs,
                             help=f"passes over the training set, one checkpoint each (default {epochs})")
        if kind == "detector":
            command.add_argument("--verifier-epochs", type=_count, default=None, metavar="N",
                                 help="epochs of the second stage (the crop verifier, trained on the first "
                                      "stage's own candidates), numbered after --epochs (default 6; 0: none)")
        command.add_argument("--seed", type=int, default=0, help="seed of weights, batch order and augmentation")
        command.add_argument("--threads", type=_positive, default=1,
                             help="torch and onnxruntime threads (default 1: other work on the machine slows "
                                  "multi-threaded training many times over)")
        command.add_argument("--train-set", default="balloons-train", metavar="ID", help="data set to train on")
        command.add_argument("--val-set", default="balloons-val", metavar="ID",
                             help="data set each checkpoint is validated on")
        command.add_argument("--out", type=Path, default=Path("models") / name, metavar="DIR",
                             help=f"model folder: DIR/model.yaml and DIR/checkpoints/ (default models/{name})")
        command.add_argument("--limit", type=_positive, default=None, metavar="N",
                             help="use only the first N pictures of each data set (tiny runs)")
        command.add_argument("--batch-size", type=_positive, default=None, metavar="N",
                             help="pictures (detector) or crops (colour) per step (default: the recipe's)")
        command.add_argument("--learning-rate", type=_positive_float, default=None, metavar="LR",
                             help="peak learning rate (default: the recipe's)")
        command.add_argument("--datasets", type=Path, default=None, metavar="DIR",
                             help="the folder holding the data sets (default: $VISIONSPEC_DATASETS or ./datasets)")
        command.add_argument("--json", action="store_true", help="print each epoch's report as one JSON line")
        command.set_defaults(handler=train_command)


def _positive(text: str) -> int:
    """A positive integer argument."""
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _count(text: str) -> int:
    """A whole number argument, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _positive_float(text: str) -> float:
    """A positive number argument."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def train_command(args: argparse.Namespace) -> int:
    """Train, printing one progress line (or JSON object) per epoch on stdout."""
    module_name, function_name, _ = _KINDS[args.train_kind]
    try:
        recipe = import_module(module_name)
        loop = import_module("visionspec.training.loop")
    except ModuleNotFoundError as err:
        if err.name is None or err.name.split(".")[0] not in {"torch", "torchvision", "onnx"}:
            raise
        print(f"visionspec: error: `visionspec train` needs the training extra ({err.name} is not installed); "
              "fix: pip install 'visionspec[train]'", file=sys.stderr)
        return ExitCode.BROKEN
    options = loop.TrainOptions(
        epochs=args.epochs,
        seed=args.seed,
        threads=args.threads,
        train_set=args.train_set,
        val_set=args.val_set,
        out=args.out,
        datasets=args.datasets,
        limit=args.limit,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        second_stage_epochs=getattr(args, "verifier_epochs", None),
    )

    def progress(report: Any) -> None:
        print(json.dumps(report.to_dict()) if args.json else str(report), flush=True)

    getattr(recipe, function_name)(options, progress)
    return ExitCode.MET
