"""Hostile clients on real servers, both frameworks: slow ones, oversized headers, smuggling.

Slow clients neither stop /health nor stay connected for ever: 72 connections that
send a request line and nothing more, trickle their headers a byte a second, send a
body slower than it was announced, a chunk a second, a body after "100 Continue", or
a body over the limit anyway. /health must still answer within the service's 3 s
while they are open, predictions go on, and each slow connection is answered 408
(413 for the body over the limit) or closed once READ_TIMEOUT (3 s here) has passed.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from baking import DEFAULT_FASTAPI, DEFAULT_FLASK, Combo
from serving import HEALTH_TIMEOUT, call, gunicorn_with_every_worker_ready, log_lines

SLOW_CLIENTS = 72
READ_TIMEOUT = 3
HEAD = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
# What each kind of slow client sends at once, then what it sends each second.
SLOW_KINDS = {
    "request line only": (b"POST /predict HTTP/1.1\r\n", b""),
    "trickled headers": (b"POST /predict HTTP/1.1\r\nHost: x\r\nX-Slow: ", b"x"),
    "slow body": (HEAD + b"Content-Length: 1000\r\n\r\n{", b" "),
    "slow chunks": (HEAD + b"Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n", b"1\r\n \r\n"),
    "slow body after 100 Continue": (HEAD + b"Expect: 100-continue\r\nContent-Length: 1000\r\n\r\n", b" "),
    "a body over the limit, sent anyway": (HEAD + b"Content-Length: 20000000\r\n\r\n{", b" " * 1000),
}
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
HOARDED = 1000  # requests with 10 KB answers: more than the server's send buffer takes
BODY = json.dumps({"instances": [[5.1, 3.5, 1.4, 0.2]]}).encode()


def open_slow_clients(port: int) -> list[tuple[str, socket.socket]]:
    clients = []
    for number in range(SLOW_CLIENTS):
        kind = list(SLOW_KINDS)[number % len(SLOW_KINDS)]
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        client.sendall(SLOW_KINDS[kind][0])
        clients.append((kind, client))
    return clients


@pytest.mark.parametrize("combo", [DEFAULT_FLASK.param(), DEFAULT_FASTAPI.param()])
def test_slow_clients_leave_health_quick_and_are_cut_off(
    baked, combo: Combo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = baked(combo)
    monkeypatch.setenv("READ_TIMEOUT", str(READ_TIMEOUT))
    with gunicorn_with_every_worker_ready(project, project / "model_artifact", tmp_path / "log") as served:
        base = f"http://127.0.0.1:{served.port}"
        clients = open_slow_clients(served.port)
        stop = threading.Event()

        def trickle() -> None:
            while not stop.wait(1):
                for kind, client in clients:
                    if each_second := SLOW_KINDS[kind][1]:
                        with contextlib.suppress(OSError):  # cut off by the server: as wanted
                            client.send(each_second)

        trickler = threading.Thread(target=trickle)
        trickler.start()
        try:
            health_seconds = []
            deadline = time.monotonic() + READ_TIMEOUT + 3
            while time.monotonic() < deadline:
                started = time.monotonic()
                assert call(f"{base}/health")[0] == 200  # raises after the service's timeout
                health_seconds.append(time.monotonic() - started)
                status, answer = call(f"{base}/predict", BODY, {"Content-Type": "application/json"})
                assert status == 200, answer
                time.sleep(0.3)
            cut_off = []
            for kind, client in clients:
                client.settimeout(HEALTH_TIMEOUT)
                try:
                    reply = client.recv(4096)
                except ConnectionResetError:
                    reply = b""
                except TimeoutError:
                    continue
                cut_off.append(kind)
                reply = reply.removeprefix(CONTINUE) if "100 Continue" in kind else reply
                refused = b"HTTP/1.1 413" if "over the limit" in kind else b"HTTP/1.1 408"
                assert reply == b"" or reply.startswith(refused), (kind, reply[:200])
        finally:
            stop.set()
            trickler.join()
            for _, client in clients:
                client.close()
    assert max(health_seconds) < HEALTH_TIMEOUT
    assert len(cut_off) == SLOW_CLIENTS, f"{SLOW_CLIENTS - len(cut_off)} open after {READ_TIMEOUT + 3} s"


@pytest.mark.xdist_group(DEFAULT_FLASK.id)
def test_a_client_that_never_reads_leaves_flasks_main_loop_free(baked, tmp_path: Path) -> None:
    """The Flask worker answers quick requests on its main loop, but not to a client that has let
    earlier answers pile up: the loop would wait on that write (up to READ_TIMEOUT, 10 s)."""
    project = baked(DEFAULT_FLASK)
    rows = json.loads((project / "sample_request.json").read_text())["instances"]
    body = json.dumps({"instances": (rows * 100)[:100], "method": "predict_proba"}).encode()  # 10 KB answers
    request = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    request += b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    log = tmp_path / "log"
    with gunicorn_with_every_worker_ready(project, project / "model_artifact", log, workers=1) as served:
        base = f"http://127.0.0.1:{served.port}"
        for _ in range(3):  # that body size is known quick from now on: answered on the main loop
            assert call(f"{base}/predict", body, {"Content-Type": "application/json"})[0] == 200
        hoarder = socket.socket()
        hoarder.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
        hoarder.settimeout(5)
        with contextlib.closing(hoarder):
            hoarder.connect(("127.0.0.1", served.port))
            with contextlib.suppress(TimeoutError):  # the server stopped reading from it
                for _ in range(HOARDED):  # one at a time (each answered before the next), never read
                    hoarder.sendall(request)
                    time.sleep(0.002)
            health_seconds = []
            for _ in range(5):  # while the server's write to the hoarder is stuck
                started = time.monotonic()
                assert call(f"{base}/health")[0] == 200  # raises after the service's timeout
                health_seconds.append(time.monotonic() - started)
                time.sleep(0.2)
            answered = [line for line in log_lines(log.read_text()) if line.get("path") == "/predict"]
    assert len(answered) - 3 < HOARDED, "every hoarded request was answered: nothing was stuck"
    assert max(health_seconds) < 1, health_seconds


def read_to_the_end(client: socket.socket) -> bytes:
    replies = b""
    while chunk := client.recv(65536):
        replies += chunk
    return replies


@pytest.mark.xdist_group(DEFAULT_FLASK.id)
def test_flasks_main_loop_frames_pipelined_and_chunked_requests_whatever_the_client_does(
    baked, tmp_path: Path
) -> None:
    """Pipelined requests with the client's half-close once ended a worker; a chunked body went to
    gunicorn's chunk reader, quadratic in the number of chunks; a leading empty line or HTTP/1.2 let
    a chunked request reach a thread before its body. gunicorn's log holds no traceback at the end."""
    project = baked(DEFAULT_FLASK)
    health = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    rows = json.loads((project / "sample_request.json").read_text())["instances"]
    body = json.dumps({"instances": (rows * 700)[:2000]}).encode()
    chunked = b"".join(
        b"%x\r\n%s\r\n" % (len(body[at : at + 250]), body[at : at + 250]) for at in range(0, len(body), 250)
    )
    head = b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
    with gunicorn_with_every_worker_ready(
        project, project / "model_artifact", tmp_path / "log", workers=1
    ) as served:
        for _ in range(20):
            with socket.create_connection(("127.0.0.1", served.port), timeout=HEALTH_TIMEOUT) as client:
                client.sendall(health * 2)
                client.shutdown(socket.SHUT_WR)
                assert read_to_the_end(client).count(b"HTTP/1.1 200 OK") == 2
        answers = []
        for framing in (
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body),
            b"Transfer-Encoding: chunked\r\n\r\n" + chunked + b"0\r\n\r\n",
        ):
            with socket.create_connection(("127.0.0.1", served.port), timeout=30) as client:
                client.sendall(head + framing)
                answers.append(read_to_the_end(client).split(b"\r\n\r\n", 1))
        assert answers[0][0].startswith(b"HTTP/1.1 200") and answers[1][1] == answers[0][1]
        for refused in (b"\r\n" + head.replace(b"1.1", b"1.0"), head.replace(b"1.1", b"1.2")):
            with socket.create_connection(("127.0.0.1", served.port), timeout=HEALTH_TIMEOUT) as client:
                client.sendall(refused + b"Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n")  # and no more
                reply = client.recv(4096)
            assert reply.startswith(b"HTTP/1.1 400") and b"application/json" in reply, reply


OVERSIZED_HEADS = {
    "a 64 KB field": b"X-Big: " + b"x" * 65536 + b"\r\n",
    "101 fields": b"".join(b"X-Field-%d: 1\r\n" % number for number in range(101)),
}


@pytest.mark.parametrize("combo", [DEFAULT_FLASK.param(), DEFAULT_FASTAPI.param()])
def test_oversized_headers_are_431_and_a_huge_request_id_is_never_logged(
    baked, combo: Combo, tmp_path: Path
) -> None:
    project = baked(combo)
    log = tmp_path / "log"
    with gunicorn_with_every_worker_ready(project, project / "model_artifact", log) as served:
        for name, fields in OVERSIZED_HEADS.items():
            with socket.create_connection(("127.0.0.1", served.port), timeout=HEALTH_TIMEOUT) as client:
                client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" + fields + b"\r\n")
                reply = client.recv(4096)
            assert reply.startswith(b"HTTP/1.1 431"), (name, reply[:100])
        huge_id = b"opc-request-id: " + b"a" * 2**20 + b"\r\n"
        with socket.create_connection(("127.0.0.1", served.port), timeout=HEALTH_TIMEOUT) as client:
            try:
                client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n" + huge_id + b"\r\n")
                reply = client.recv(4096)
            except (ConnectionResetError, BrokenPipeError):
                reply = b""  # refused while it was still being sent
        assert reply == b"" or reply.startswith(b"HTTP/1.1 431"), reply[:100]
        assert call(f"http://127.0.0.1:{served.port}/health")[0] == 200
    assert "a" * 1000 not in log.read_text()


SMUGGLING = {
    "content-length and chunked": b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two content-lengths": b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}",
    "obsolete line folding": b"GET /health HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
    # More digits than Python's int() takes (4,300): it once ended the Flask worker (a ValueError).
    "a content-length of 5,000 digits": b"POST /predict HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: application/json\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n{}",
    "a content-length of 5,000 zeros and a 2": b"POST /predict HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: application/json\r\nContent-Length: " + b"0" * 5000 + b"2\r\n\r\n{}",
}


@pytest.mark.parametrize("combo", [DEFAULT_FLASK.param(), DEFAULT_FASTAPI.param()])
def test_request_smuggling_forms_are_refused_and_no_version_is_announced(
    baked, combo: Combo, tmp_path: Path
) -> None:
    project = baked(combo)
    with gunicorn_with_every_worker_ready(project, project / "model_artifact", tmp_path / "log") as served:
        for name, raw in SMUGGLING.items():
            with socket.create_connection(("127.0.0.1", served.port), timeout=HEALTH_TIMEOUT) as client:
                client.sendall(raw)
                reply = client.recv(4096)
            assert reply.startswith(b"HTTP/1.1 400"), (name, reply[:100])
        with urllib.request.urlopen(
            f"http://127.0.0.1:{served.port}/health", timeout=HEALTH_TIMEOUT
        ) as health:
            assert not re.search(r"[0-9]", health.headers.get("Server", "")), health.headers["Server"]
