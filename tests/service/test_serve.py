"""`visionspec serve` over real HTTP: the contract, the answers of visionspec's own pass, bad uploads refused."""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("multipart")
httpx = pytest.importorskip("httpx")

from PIL import Image  # noqa: E402
from tests.service.server import Server, serving  # noqa: E402
from tests.steps.tiny_world import write_project  # noqa: E402

from visionspec.runtime.session import file_sha256  # noqa: E402
from visionspec.service.app import openapi_json  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny")
    write_project(folder)
    return folder


@pytest.fixture(scope="module")
def server(project: Path) -> Iterator[Server]:
    with serving(project, "--max-bytes", "200000", "--max-pixels", "1000000") as running:
        yield running


def _png(width: int, height: int, colour: tuple[int, int, int] = (200, 200, 200)) -> bytes:
    stream = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(stream, format="PNG")
    return stream.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels, with almost no data: a decompression bomb's shape."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def _analyse(server: Server, data: bytes, name: str = "picture.png") -> httpx.Response:
    return httpx.post(f"{server.url}/v1/analyse", files={"image": (name, data, "image/png")}, timeout=30)


def test_a_picture_is_analysed_as_the_onnx_pass_sees_it(server: Server, project: Path) -> None:
    bright = _analyse(server, (project / "datasets/tiny/images/00.png").read_bytes())
    dark = _analyse(server, (project / "datasets/tiny/images/09.png").read_bytes())

    assert bright.status_code == 200
    answer = bright.json()
    assert [item["box"] for item in answer["items"]] == [[8.0, 8.0, 16.0, 16.0]]
    assert answer["items"][0]["label"] == "balloon" and answer["items"][0]["colour"] == "red"
    assert answer["items"][0]["score"] == pytest.approx(200 / 255, abs=1e-3)
    assert 0.5 < answer["items"][0]["colour_score"] <= 1
    assert answer["model"] == {
        "detector": file_sha256(project / "models/balloon-detector/checkpoints/epoch-01.onnx"),
        "colour": file_sha256(project / "models/balloon-colour/checkpoints/epoch-01.onnx"),
    }
    assert dark.json()["items"] == []  # score 0.08, below the card's threshold of 0.5


def test_a_jpeg_is_analysed_too(server: Server) -> None:
    stream = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 200, 200)).save(stream, format="JPEG", quality=95)

    answer = _analyse(server, stream.getvalue(), "picture.jpg")

    assert answer.status_code == 200 and len(answer.json()["items"]) == 1


def test_version_and_health(server: Server, project: Path) -> None:
    version = httpx.get(f"{server.url}/v1/version").json()

    assert version["service"] == "visionspec" and version["version"]
    assert version["model"]["detector"] == file_sha256(project / "models/balloon-detector/checkpoints/epoch-01.onnx")
    assert version["classes"]["detector"] == ["balloon"] and "red" in version["classes"]["colour"]
    assert version["score_threshold"] == 0.5
    assert httpx.get(f"{server.url}/v1/health").json() == {"status": "ok"}


@pytest.mark.parametrize(("upload", "status", "code"), [
    ({"files": {"image": ("a.png", b"", "image/png")}}, 400, "empty_upload"),
    ({"files": {"image": ("a.txt", b"hello, not a picture", "text/plain")}}, 415, "not_an_image"),
    ({"files": {"image": ("a.gif", b"GIF89a" + b"\0" * 32, "image/gif")}}, 415, "not_an_image"),
    ({"files": {"picture": ("a.png", b"x", "image/png")}}, 400, "missing_field"),
    ({"data": {"image": "text, not a file"}}, 400, "missing_field"),
    ({"content": b"", "headers": {"content-type": "application/json"}}, 400, "missing_field"),
    ({"content": b"--x\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=x"}}, 400, None),
    ({"files": {"image": ("a.png", b"\0" * 300_000, "image/png")}}, 413, "too_large"),
    ({"files": {"image": ("bomb.png", _png_header(40_000, 40_000), "image/png")}}, 413, "too_many_pixels"),
    ({"files": {"image": ("big.png", _png_header(2_000, 1_000), "image/png")}}, 413, "too_many_pixels"),
    ({"files": {"image": ("cut.png", _png(64, 64)[:120], "image/png")}}, 422, "corrupt_image"),
])
def test_a_bad_upload_is_a_4xx_with_a_json_error_and_the_worker_goes_on(
    server: Server, upload: dict[str, object], status: int, code: str | None
) -> None:
    answer = httpx.post(f"{server.url}/v1/analyse", timeout=30, **upload)  # type: ignore[arg-type]

    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["message"]
    assert code is None or error["code"] == code
    assert _analyse(server, _png(64, 64)).status_code == 200  # the same worker still analyses


def test_a_body_streamed_past_the_limit_without_a_length_is_cut_off(server: Server) -> None:
    boundary = "b0undary"

    def body() -> Iterator[bytes]:
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n'.encode()
        for _ in range(40):
            yield b"\0" * 10_000

    answer = httpx.post(f"{server.url}/v1/analyse", content=body(), timeout=30,
                        headers={"content-type": f"multipart/form-data; boundary={boundary}"})

    assert answer.status_code == 413 and answer.json()["error"]["code"] == "too_large"
    assert httpx.get(f"{server.url}/v1/health").status_code == 200


def test_unknown_routes_and_methods_answer_json(server: Server) -> None:
    missing = httpx.get(f"{server.url}/v2/analyse")
    wrong = httpx.get(f"{server.url}/v1/analyse")

    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


def test_the_served_openapi_document_is_the_one_in_the_docs(server: Server) -> None:
    served = httpx.get(f"{server.url}/v1/openapi.json").json()
    docs = (ROOT / "docs" / "service.md").read_text(encoding="utf-8")
    block = docs.split("```json\n", 1)[1].split("```", 1)[0]

    assert json.loads(block) == served
    assert block.strip() == openapi_json().strip()
    assert set(served["paths"]) == {"/v1/analyse", "/v1/version", "/v1/health"}
