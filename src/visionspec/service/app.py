"""The reference analysis service as an ASGI app (Starlette; extra ``serve``): ``visionspec serve`` runs it.

Routes: ``POST /v1/analyse`` (multipart field ``image``), ``GET /v1/health``, ``GET /v1/version`` and
``GET /v1/openapi.json`` (the contract, ``OPENAPI``; docs/service.md shows the same document).

A bad upload is a 4xx with ``{"error": {"code", "message"}}`` and the worker goes on serving: a body over
the limit is cut off while it is read (413, whether or not it declares its length), a form that cannot be
parsed or lacks the field is a 400, the picture's own problems are ``check_upload``'s. Analyses run on worker
threads, at most ``workers`` at once, so the event loop keeps answering health checks meanwhile. Anything
unexpected is a 500 with the same JSON shape, never a dropped connection.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from visionspec.errors import UploadError
from visionspec.service.analysis import Analyser
from visionspec.service.contract import ANALYSE_PATH, HEALTH_PATH, UPLOAD_FIELD, VERSION_PATH

OPENAPI_PATH = "/v1/openapi.json"
DEFAULT_WORKERS = 4

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string", "enum": ["empty_upload", "missing_field", "bad_form", "too_large",
                                            "too_many_pixels", "not_an_image", "corrupt_image", "not_found",
                                            "method_not_allowed", "internal_error"]},
        "message": {"type": "string"}}}},
}
_MODELS = {"type": "object", "description": "role (detector, colour) to the SHA-256 of the model file",
           "additionalProperties": {"type": "string"}}
_ITEM = {
    "type": "object",
    "required": ["box", "score", "label", "colour", "colour_score"],
    "properties": {
        "box": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4,
                "description": "x, y, width, height in pixels of the uploaded picture (upright, as EXIF says)"},
        "score": {"type": "number", "description": "the detector's confidence, at least its card's score_threshold"},
        "label": {"type": "string", "description": "the detector's class"},
        "colour": {"type": "string", "description": "the colour model's class for the box's crop"},
        "colour_score": {"type": "number", "description": "the colour model's probability of that class"},
    },
}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): {"description": "refused", "content": {"application/json": {"schema": _ERROR}}}
            for status in statuses}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "visionspec analysis service", "version": "1",
             "description": "Finds objects on one picture and names each one's colour."},
    "paths": {
        ANALYSE_PATH: {"post": {
            "summary": "Analyse one picture",
            "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                "type": "object", "required": [UPLOAD_FIELD],
                "properties": {UPLOAD_FIELD: {"type": "string", "format": "binary",
                                              "description": "a JPEG or PNG picture"}}}}}},
            "responses": {
                "200": {"description": "the objects found", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["items", "model"],
                    "properties": {"items": {"type": "array", "items": _ITEM}, "model": _MODELS}}}}},
                **_errors(400, 413, 415, 422),
            },
        }},
        VERSION_PATH: {"get": {"summary": "The service's version and models", "responses": {"200": {
            "description": "version, model hashes, classes and score threshold",
            "content": {"application/json": {"schema": {"type": "object", "required": ["version", "model"],
                                                        "properties": {
                "service": {"type": "string"}, "version": {"type": "string"}, "model": _MODELS,
                "classes": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
                "score_threshold": {"type": "number"}}}}}}}}},
        HEALTH_PATH: {"get": {"summary": "Liveness", "responses": {"200": {
            "description": "the service answers",
            "content": {"application/json": {"schema": {"type": "object", "properties": {
                "status": {"type": "string", "enum": ["ok"]}}}}}}}}},
    },
}
"""The OpenAPI 3.1 document of the contract (served at ``/v1/openapi.json``)."""


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """The JSON error answer every refusal uses."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is a 413, declared (Content-Length) or streamed.

    A streamed body is cut off by raising ``UploadError`` from ``receive`` inside the route, whose error
    handler answers it.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = error_response(413, "too_large", self._message(int(declared)))
            response.headers["connection"] = "close"  # the rest of the body is not read
            await response(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                raise UploadError(413, "too_large", self._message(seen))
            return message

        await self.app(scope, limited, send)

    def _message(self, size: int) -> str:
        return (f"the request body has at least {size:,} bytes, more than the {self.max_bytes:,} accepted; fix: send "
                "a smaller picture")


def create_app(analyser: Analyser, *, workers: int = DEFAULT_WORKERS) -> ASGIApp:
    """The ASGI app serving ``analyser``.

    Args:
        analyser: the models and upload limits.
        workers: analyses run at once (each on a worker thread).

    Example:
        >>> app = create_app(Analyser(open_model(detector), open_model(colour)))  # doctest: +SKIP
        >>> uvicorn.run(app, host="127.0.0.1", port=8000)  # doctest: +SKIP
    """
    limiter = anyio.CapacityLimiter(workers)

    async def analyse(request: Request) -> Response:
        # the parts may be as large as the body limit; the whole body is already capped by BodyLimit
        form = await request.form(max_files=1, max_fields=16, max_part_size=analyser.limits.max_bytes)
        try:
            upload = form.get(UPLOAD_FIELD)
            if not isinstance(upload, UploadFile):
                fields = ", ".join(map(repr, form.keys())) or "none"
                return error_response(400, "missing_field", f'the form has no file field "{UPLOAD_FIELD}" (fields: '
                                                            f"{fields}); fix: send the picture as multipart/form-data "
                                                            f'in the field "{UPLOAD_FIELD}"')
            data = await upload.read()
            name = upload.filename or "upload"
        finally:
            await form.close()
        result = await anyio.to_thread.run_sync(analyser.analyse, data, name, limiter=limiter)
        return JSONResponse(result)

    async def version(request: Request) -> Response:
        return JSONResponse(analyser.version())

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def openapi(request: Request) -> Response:
        return JSONResponse(OPENAPI)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, UploadError)
        return error_response(exc.status, exc.code, str(exc))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "bad_form")
        return error_response(exc.status_code, code, str(exc.detail))

    async def internal(request: Request, exc: Exception) -> Response:
        return error_response(500, "internal_error", f"the service failed: {type(exc).__name__}: {exc}")

    app = Starlette(
        routes=[
            Route(ANALYSE_PATH, analyse, methods=["POST"]),
            Route(VERSION_PATH, version, methods=["GET"]),
            Route(HEALTH_PATH, health, methods=["GET"]),
            Route(OPENAPI_PATH, openapi, methods=["GET"]),
        ],
        exception_handlers={UploadError: refused, HTTPException: http_error, Exception: internal},
    )
    return BodyLimit(app, analyser.limits.max_bytes + 64 * 1024)  # room for the multipart headers


def openapi_json() -> str:
    """The OpenAPI document as docs/service.md shows it."""
    return json.dumps(OPENAPI, indent=2)
