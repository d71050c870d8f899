"""``visionspec serve``: the reference analysis service for the two models (extra ``serve``: Starlette, uvicorn).

Serves ``POST /v1/analyse``, ``GET /v1/health``, ``GET /v1/version`` and ``GET /v1/openapi.json`` until
stopped (Ctrl-C). The models are ``--detector`` and ``--colour-model``, else the project's newest
checkpoints; the contract is in docs/service.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from visionspec.errors import VisionSpecError
from visionspec.goals.verdict import ExitCode

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="the reference analysis service over HTTP (extra `serve`)")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free)")
    parser.add_argument("--detector", type=Path, metavar="ONNX", help="detector (default: newest in models/)")
    parser.add_argument("--colour-model", type=Path, metavar="ONNX", help="colour model (default: newest)")
    parser.add_argument("--models", type=Path, default=Path("models"), metavar="DIR", help="model registry folder")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="execution device")
    parser.add_argument("--workers", type=int, default=4, metavar="N", help="analyses at once (default 4)")
    parser.add_argument("--max-bytes", type=int, metavar="N", help="largest upload in bytes (default 20 MiB)")
    parser.add_argument("--max-pixels", type=int, metavar="N", help="most pixels a picture (default 40,000,000)")
    parser.set_defaults(handler=serve_command)


def build_analyser(args: argparse.Namespace) -> Any:
    """The ``Analyser`` of the models the arguments name (opened and checked against their cards)."""
    from visionspec.checkpoints import REFERENCE_COLOUR_MODEL, REFERENCE_DETECTOR, candidate_checkpoint
    from visionspec.runtime.session import Device, open_model
    from visionspec.service.analysis import Analyser, UploadLimits

    device = Device(args.device)
    detector = args.detector or candidate_checkpoint(args.models, "detection", REFERENCE_DETECTOR)
    colour = args.colour_model or candidate_checkpoint(args.models, "classification", REFERENCE_COLOUR_MODEL)
    defaults = UploadLimits()
    limits = UploadLimits(args.max_bytes or defaults.max_bytes, args.max_pixels or defaults.max_pixels)
    return Analyser(open_model(detector, device=device), open_model(colour, device=device), limits)


def serve_command(args: argparse.Namespace) -> int:
    """Serve until stopped; exit 2 when the extra is missing, a model cannot be opened or the port is taken."""
    try:
        import uvicorn

        from visionspec.service.app import create_app
    except ImportError as err:
        raise VisionSpecError(f"visionspec serve needs the serve extra ({err.name} is missing); fix: "
                              "pip install 'visionspec[serve]'") from err
    if args.workers < 1:
        raise VisionSpecError(f"--workers must be at least 1, got {args.workers}")
    analyser = build_analyser(args)
    print(f"visionspec serve: {analyser.detector.path.name} (detector) and {analyser.colour_model.path.name} "
          f"(colour model) on http://{args.host}:{args.port}/v1/analyse; Ctrl-C stops", flush=True)
    try:
        uvicorn.run(create_app(analyser, workers=args.workers), host=args.host, port=args.port, log_level="info",
                    timeout_graceful_shutdown=10)
    except SystemExit as stop:  # uvicorn exits when it cannot bind: the suite could not serve
        if stop.code not in (0, None):
            raise VisionSpecError(f"cannot serve on {args.host}:{args.port} (see uvicorn's message above); fix: "
                                  "another --port, or stop what holds it") from None
    return ExitCode.MET
