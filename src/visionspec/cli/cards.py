"""``visionspec cards [--markdown]``: the model-card reference, generated from the card and adapter code.

Every key with its type, default and accepted values, per adapter, with each adapter's expected outputs;
docs/model-card.md is its Markdown. ``visionspec card init | check`` (``visionspec.cli.card``) use it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from visionspec.goals.verdict import ExitCode


def register(subparsers: Any) -> None:
    """Add the ``cards`` command."""
    reference = subparsers.add_parser(
        "cards", help="the model-card reference: every key, type, default and accepted values, per adapter")
    reference.add_argument("--markdown", action="store_true", help="write Markdown (for docs/model-card.md)")
    reference.set_defaults(handler=cards_command)


def cards_command(args: argparse.Namespace) -> int:
    """Print the reference."""
    from visionspec.runtime.card_reference import card_reference

    sys.stdout.write(card_reference(markdown=args.markdown))
    return ExitCode.MET
