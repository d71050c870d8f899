"""``visionspec card init MODEL.onnx`` and ``visionspec card check CARD [--model ONNX]``.

- ``card init MODEL.onnx [--out CARD] [--force]``: inspect the file and write a proposed card (default:
  ``MODEL.yaml`` beside the file, the first place a card is looked up), its guesses marked ``# check:``.
- ``card check CARD [--model ONNX]``: validate the card and check it against its model file (exit 2 with
  the reason); without ``--model``, the ONNX files that would be judged with this card are checked.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from visionspec.errors import ModelCardError, VisionSpecError
from visionspec.goals.verdict import ExitCode


def register(subparsers: Any) -> None:
    """Add the ``card`` command and its actions."""
    card = subparsers.add_parser(
        "card", help="propose a card for an ONNX file (init), or check a card against its file (check)")
    actions = card.add_subparsers(dest="card_command", required=True, metavar="ACTION")
    init = actions.add_parser("init", help="inspect MODEL.onnx and write a proposed card")
    init.add_argument("model", type=Path, metavar="MODEL.onnx")
    init.add_argument("--out", type=Path, default=None, metavar="CARD",
                      help="where to write it (default: MODEL.yaml beside the file; '-' prints it)")
    init.add_argument("--force", action="store_true", help="replace an existing card file")
    init.set_defaults(handler=init_command)
    check = actions.add_parser("check", help="validate CARD and check it against its model file")
    check.add_argument("card", type=Path, metavar="CARD")
    check.add_argument("--model", type=Path, default=None, metavar="ONNX",
                       help="the model file (default: the ONNX files that would be judged with this card)")
    check.set_defaults(handler=check_command)


def init_command(args: argparse.Namespace) -> int:
    """Write the proposed card, then say how it fares against the file."""
    from visionspec.runtime.card_proposal import propose_card

    if not args.model.is_file():
        raise VisionSpecError(f"{args.model}: no such model file (check the path)")
    proposal = propose_card(args.model)
    text = proposal.to_yaml(args.model)
    if args.out is not None and str(args.out) == "-":
        sys.stdout.write(text)
        return ExitCode.MET
    out: Path = args.out or args.model.with_suffix(".yaml")
    if out.exists() and not args.force:
        raise VisionSpecError(f"{out} exists: pass --force to replace it, or --out to write elsewhere")
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as err:
        raise VisionSpecError(f"{out}: cannot write the card ({err.strerror or err}); fix: choose --out") from err
    print(f"wrote {out}: adapter {proposal.card['output']['adapter']}, {len(proposal.unsure)} key(s) to check "
          "(marked 'check:')")
    try:
        print(_check_one(out, args.model))
    except VisionSpecError as err:
        print(f"as proposed, the card does not fit the file yet: {err}")
    print(f"next: edit {out}, then `visionspec card check {out} --model {args.model}`")
    return ExitCode.MET


def check_command(args: argparse.Namespace) -> int:
    """Validate the card, against each of its model files."""
    from visionspec.runtime.card import build_card, card_path_for, read_card_file

    if args.model is not None:
        print(_check_one(args.card, args.model))
        return ExitCode.MET
    models = [model for model in _nearby_models(args.card) if card_path_for(model).resolve() == args.card.resolve()]
    if not models:
        try:
            card = build_card([(str(args.card), read_card_file(args.card))])
        except ModelCardError as err:
            raise ModelCardError(f"{err} (no model file uses this card: pass --model to check it with the file's "
                                 "metadata card)") from err
        print(f"ok: {args.card} is a valid card (adapter {card.output.kind}); no model file uses it: pass --model "
              "to check it against one")
        return ExitCode.MET
    for model in models:
        print(_check_one(args.card, model))
    return ExitCode.MET


def _check_one(card: Path, model: Path) -> str:
    """Open ``model`` with ``card`` (card, metadata and file contract checked); the line saying so."""
    from visionspec.runtime.session import Device, open_model

    session = open_model(model, card_path=card, device=Device.CPU, threads=1)
    contract = session.contract
    return (f"ok: {card} fits {model} (adapter {session.card.output.kind}, input {contract.input.name!r} "
            f"{contract.input.describe()}, outputs {', '.join(contract.output_names)}; card from "
            f"{session.card_source.origin})")


def _nearby_models(card: Path) -> list[Path]:
    """ONNX files that may be looked up with ``card``: beside it and in ``checkpoints/`` beside it."""
    folder = card.parent
    return sorted([*folder.glob("*.onnx"), *(folder / "checkpoints").glob("*.onnx")])
