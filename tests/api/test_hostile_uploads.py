"""Hostile uploads, each refused with its own precise 4xx: endless bodies, wrong types, repeated or poisoned fields."""

import json
import os
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.body_limit import DRAINED_BYTES
from harness.contract import MAX_FILE_BYTES
from tests.api.conftest import VALID_LOSS

pytestmark = pytest.mark.slow

GIB = 2**30
CHUNK = 64 * 1024
SERVER_START_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def server(postgres_url, redis_url, tmp_path_factory) -> Iterator[tuple[int, int]]:
    """A real uvicorn process on loopback; yields its port and pid."""
    port = _free_port()
    environment = {
        **os.environ,
        "POISONBENCH_SUITE": "smoke",
        "POISONBENCH_DATABASE_URL": postgres_url,
        "POISONBENCH_BROKER_URL": redis_url,
        "POISONBENCH_DATA_ROOT": str(tmp_path_factory.mktemp("var")),
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "api.main:create_app", "--port", str(port)]
    process = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.1)
    yield port, process.pid
    process.terminate()
    process.wait(timeout=30)


def _endless_upload(size: int) -> Iterator[bytes]:
    """A multipart upload whose file goes on for `size` bytes, produced chunk by chunk, never held whole."""
    yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="loss.py"\r\n\r\n'
    for _ in range(size // CHUNK):
        yield b"#" * CHUNK


def _stream_until_answered(port: int, chunks: Iterator[bytes]) -> tuple[int, bytes]:
    """Sends the chunks (chunked encoding, no length) until the server answers or hangs up; returns the bytes
    sent and the answer."""
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    connection.sendall(
        b"POST /api/submissions HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: multipart/form-data; boundary=b\r\n\r\n"
    )
    sent = 0
    for chunk in chunks:
        if select.select([connection], [], [], 0)[0]:  # the answer is there: stop sending
            break
        try:
            connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            break
        sent += len(chunk)
    answer = b""
    try:
        while data := connection.recv(CHUNK):
            answer += data
    except ConnectionResetError:  # the server closes with our unread chunks in its buffer: the answer came first
        pass
    connection.close()
    return sent, answer


def test_an_endless_upload_is_cut_off_with_413_long_before_a_gibibyte_without_growing_the_server(server):
    port, pid = server
    rss_before = _rss_bytes(pid)
    sent, answer = _stream_until_answered(port, _endless_upload(GIB))
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer[:300]
    assert b"connection: close" in head.lower()
    assert f"over the {MAX_FILE_BYTES:,}-byte limit" in json.loads(body)["detail"]  # the server's default
    # what the server drains before answering, and kernel buffers: not 1 GiB
    assert sent < DRAINED_BYTES + 8 * 2**20, f"{sent:,} bytes went out before the server answered"
    assert _rss_bytes(pid) - rss_before < 32 * 2**20


def _upload_sent_at_once(port: int, body: bytes, framing: bytes) -> bytes:
    """Sends the headers and the whole body in one go, without waiting for a 100 Continue (as Node's fetch and
    many HTTP libraries do), then reads the answer; a reset before the answer is read fails the test."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(
            b"POST /api/submissions HTTP/1.1\r\nHost: localhost\r\n%s\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n\r\n%s" % (framing, body)
        )
        answer = b""
        while data := connection.recv(CHUNK):
            answer += data
    return answer


def _chunked(body: bytes) -> bytes:
    chunks = (body[start : start + CHUNK] for start in range(0, len(body), CHUNK))
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"


@pytest.mark.parametrize("size", [128 * 1024, 2 * 2**20, 4 * 2**20])
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_an_oversized_upload_sent_without_waiting_for_100_continue_is_answered_413_not_reset(server, size, framing):
    port, _ = server
    body = (
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="loss.py"\r\n\r\n'
        + b"#" * size
        + b"\r\n--b--\r\n"
    )
    for _ in range(3):  # the reset came 2 times in 3 at 128 KiB: once is not enough to show it gone
        if framing == "chunked":
            answer = _upload_sent_at_once(port, _chunked(body), b"Transfer-Encoding: chunked")
        else:
            answer = _upload_sent_at_once(port, body, b"Content-Length: %d" % len(body))
        head, _, json_body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), answer[:300]
        assert f"over the {MAX_FILE_BYTES:,}-byte limit" in json.loads(json_body)["detail"]


def test_a_client_waiting_for_100_continue_is_refused_before_it_sends_the_body(server):
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(
            b"POST /api/submissions HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n"
            b"Expect: 100-continue\r\nContent-Type: multipart/form-data; boundary=b\r\n\r\n" % (2 * 2**20)
        )
        answer = b""
        while data := connection.recv(CHUNK):
            answer += data
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]  # no 100 Continue asked for a body it would refuse


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", json.dumps({"name": "x", "file": VALID_LOSS})),
        ("text/x-python", VALID_LOSS),
        ("application/octet-stream", VALID_LOSS),
    ],
)
def test_a_body_that_is_not_a_form_is_a_415_saying_how_to_send_the_file(client, auth, content_type, body):
    response = client.post(
        "/api/submissions", headers={**auth, "Content-Type": content_type}, content=body.encode()
    )
    assert response.status_code == 415
    assert "multipart/form-data" in response.json()["detail"] and "-F file=@" in response.json()["detail"]


@pytest.mark.parametrize(
    ("fields", "repeated"),
    [
        ([("name", (None, "first")), ("name", (None, "second")), ("file", ("a.py", VALID_LOSS))], "name"),
        ([("name", (None, "x")), ("file", ("a.py", VALID_LOSS)), ("file", ("b.py", "# b\n"))], "file"),
        (
            [("name", (None, "x")), ("description", (None, "a")), ("description", (None, "b")),
             ("file", ("a.py", VALID_LOSS))],
            "description",
        ),
    ],
)
def test_a_form_field_sent_twice_is_a_422_naming_it(client, auth, check, fields, repeated):
    response = client.post("/api/submissions", headers=auth, files=fields)
    assert response.status_code == 422
    assert response.json()["detail"] == f"the form field {repeated!r} was sent 2 times; send it once"
    assert check.calls == 0


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("x" * 10_000, "at most 100 characters"),
        ("line one\nline two", "control characters"),
        ("nul\x00byte", "control characters"),
        ("escape \x1b[31mred", "control characters"),
        ("delete\x7f", "control characters"),
    ],
)
def test_a_name_too_long_or_with_control_characters_is_a_422_naming_the_field(upload, check, name, message):
    response = upload(name=name)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.name" and message in response.json()["detail"]
    assert check.calls == 0


def test_a_description_with_a_nul_byte_is_a_422_while_lines_and_tabs_are_kept(upload, client, auth):
    refused = upload(description="fine\x00not storable")
    assert refused.status_code == 422 and "body.description" in refused.json()["detail"]
    accepted = upload(description="two\nlines\tand a tab")
    assert accepted.status_code == 202
    assert client.get(accepted.json()["url"], headers=auth).json()["description"] == "two\nlines\tand a tab"


def test_a_file_with_a_nul_byte_is_a_422_naming_where(upload, check):
    response = upload(code=b"class RobustLoss:\n    pass\x00\n")
    assert response.status_code == 422 and "NUL byte (at byte 26)" in response.json()["detail"]
    assert check.calls == 0
