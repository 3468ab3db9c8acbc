"""Uploads against a live server under attack and accident: slow senders, races and kill -9.

A slow sender must not starve the server: credentials are checked from the headers before any
body is read, uploads whose bodies are arriving hold at most half of the server's threads, and a
body that falls behind the minimum rate is cut off. Parallel uploads of one filename leave one
file and no orphan, and a server killed in the middle of an upload leaves no row without its file,
no file without its row, and leftovers that ``bastion storage gc`` removes. With S3 storage, a
kill between publishing an object and committing its row leaves an object on no page, which gc
removes once its safety delay has passed.
"""

import base64
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest
import requests

from bastion import server
from bastion.packaging.storage import key_for
from tests.e2e.conftest import AWS, BUCKET, _start_server, _stop, clean_client_env, s3_credentials
from tests.upload import dists

pytestmark = pytest.mark.e2e

REPOSITORY = Path(__file__).resolve().parents[2]

SERVER_THREADS = 2 * server.THREADS  # the fixture's --workers 2, times bastion serve's threads
GRACE_SECONDS = 2
MIN_RATE = 100_000  # bytes/s: a 64 KiB read in progress is allowed 0.66 s more


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """A server whose body deadline is short, so a cut-off shows within seconds."""
    live = _start_server(
        tmp_path_factory.mktemp("robust"),
        {
            "BASTION_REQUEST_BODY_GRACE_SECONDS": str(GRACE_SECONDS),
            "BASTION_REQUEST_BODY_MIN_RATE": str(MIN_RATE),
            "BASTION_UPLOADS_IN_FLIGHT_PER_ADDRESS": "100",  # every test client is 127.0.0.1
        },
    )
    yield live
    _stop(live.process)


def basic(token: str) -> str:
    return "Basic " + base64.b64encode(f"__token__:{token}".encode()).decode()


def post(index, token: str, dist: dists.Dist) -> requests.Response:
    return requests.post(
        index.upload_url,
        data=form_fields(dist),
        files={"content": (dist.filename, dist.content, "application/octet-stream")},
        headers={"Authorization": basic(token)},
        timeout=60,
    )


def answer_to_headers_only(port: int, headers: str, timeout: float = 5) -> bytes:
    """Send a request's headers announcing a large body, send none of it, read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(
            (
                "POST /legacy/ HTTP/1.1\r\nHost: localhost\r\n"
                "Content-Type: multipart/form-data; boundary=b0undary\r\n"
                f"Content-Length: 50000000\r\n{headers}\r\n"
            ).encode()
        )
        answer = b""
        while chunk := sock.recv(65536):  # the server closes: nothing of the body is wanted
            answer += chunk
        return answer


def port_of(index) -> int:
    return int(index.url.rsplit(":", 1)[1])


def test_uploads_without_a_valid_token_are_refused_before_the_body_is_sent(index):
    port = port_of(index)

    missing = answer_to_headers_only(port, "")
    invalid = answer_to_headers_only(port, f"Authorization: {basic('bastion-not-a-token')}\r\n")

    assert missing.startswith(b"HTTP/1.1 401 Invalid or non-existent authentication"), missing
    assert b"WWW-Authenticate: Basic" in missing and b"Connection: close" in missing
    assert invalid.startswith(b"HTTP/1.1 403 Invalid or non-existent authentication"), invalid


class SlowUploader(threading.Thread):
    """An authenticated upload that trickles its body at 100 bytes a second."""

    def __init__(self, port: int, token: str, stop: threading.Event):
        super().__init__(daemon=True)
        self.port, self.token, self.stop = port, token, stop
        self.answer = b""

    def run(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as sock:
            sock.sendall(
                (
                    "POST /legacy/ HTTP/1.1\r\nHost: localhost\r\n"
                    "Content-Type: multipart/form-data; boundary=b0undary\r\n"
                    f"Authorization: {basic(self.token)}\r\nContent-Length: 1000000\r\n\r\n"
                    '--b0undary\r\nContent-Disposition: form-data; name="name"\r\n\r\n'
                ).encode()
            )
            sock.setblocking(False)
            deadline = time.monotonic() + 60
            while not self.stop.is_set() and time.monotonic() < deadline:
                try:
                    self.answer = sock.recv(4096)
                    return
                except BlockingIOError:
                    pass
                with contextlib.suppress(BlockingIOError, BrokenPipeError, ConnectionResetError):
                    sock.send(b"x" * 10)
                time.sleep(0.1)


def test_slow_uploaders_cannot_starve_reads_and_are_cut_off(index):
    token = index.user_with_token("slow")
    stop = threading.Event()
    uploaders = [SlowUploader(port_of(index), token, stop) for _ in range(SERVER_THREADS + 2)]
    for uploader in uploaders:
        uploader.start()
    try:
        time.sleep(1)  # every slow upload has been admitted or refused by now
        slowest = 0.0
        for _ in range(6):
            for path in ("/simple/", "/healthz"):
                started = time.monotonic()
                assert requests.get(index.url + path, timeout=5).status_code == 200
                slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.2)
        for uploader in uploaders:
            uploader.join(GRACE_SECONDS + 20)
    finally:
        stop.set()

    assert slowest < 2, f"a read took {slowest:.2f} s while uploads trickled in"
    statuses = sorted(uploader.answer[9:12] for uploader in uploaders)
    # Half the threads may be receiving uploads; those are cut off by the deadline (408).
    assert statuses == [b"408"] * (SERVER_THREADS // 2) + [b"503"] * (SERVER_THREADS // 2 + 2)
    assert all(b"Retry-After: 30" in u.answer for u in uploaders if u.answer[9:12] == b"503")


def stored_keys(index) -> set[str]:
    root = index.data_dir / "files"
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def row_keys(index) -> set[str]:
    out = index.python(
        "import json\n"
        "from bastion.packaging.models import File\n"
        "print(json.dumps([k for f in File.objects.all() for k in (f.path, f.metadata_path) if k]))"
    )
    return set(json.loads(out))


def served(index, key: str) -> int:
    return requests.head(f"{index.url}/files/{key}", timeout=10).status_code


def form_fields(dist: dists.Dist) -> dict:
    return {
        ":action": "file_upload",
        "protocol_version": "1",
        "filetype": dist.filetype,
        "pyversion": dist.pyversion,
        "sha256_digest": dist.sha256,
        **dist.fields,
    }


def test_twenty_parallel_uploads_of_one_filename_leave_one_file_and_no_orphan(index):
    token = index.user_with_token("racer")
    contenders = [
        dists.wheel("race-pkg", headers=[("Summary", f"contender {n}")]) for n in range(20)
    ]
    request = {
        "token": token,
        "dists": [
            {
                "filename": dist.filename,
                "content": base64.b64encode(dist.content).decode(),
                "fields": form_fields(dist),
            }
            for dist in contenders
        ],
    }

    burst = subprocess.run(
        [sys.executable, "-m", "tests.e2e.burst", index.upload_url],
        env=clean_client_env(),
        cwd=REPOSITORY,
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert burst.returncode == 0, burst.stderr

    answers = json.loads(burst.stdout)
    assert sorted(a["status"] for a in answers) == [200] + [400] * 19, answers
    assert all(a["reason"].startswith("File already exists") for a in answers if a["status"] != 200)
    winner = contenders[next(n for n, a in enumerate(answers) if a["status"] == 200)]
    winner_key = key_for(winner.blake2_256, winner.filename)
    assert stored_keys(index) == row_keys(index)
    assert {winner_key, winner_key + ".metadata"} <= stored_keys(index)
    for contender in contenders:
        key = key_for(contender.blake2_256, contender.filename)
        expected = 200 if key == winner_key else 404
        assert (served(index, key), served(index, key + ".metadata")) == (expected, expected)
    assert list((index.data_dir / "uploads" / "staged").iterdir()) == []


def test_a_server_killed_during_a_large_upload_leaves_nothing_gc_cannot_clear(tmp_path):
    live = _start_server(tmp_path)
    try:
        token = live.python(  # one process, rather than two CLI runs: this test is kept short
            "from bastion.accounts.services import create_user\n"
            "from bastion.authz import Actor\n"
            "from bastion.tokens.services import create_token\n"
            "user = create_user(username='crash', email='crash@example.com', verified=True)\n"
            "print(create_token(actor=Actor(user), name='crash').secret)\n"
        ).strip()
        assert post(live, token, dists.wheel("crash-pkg", "1.0")).status_code == 200
        spool = live.data_dir / "uploads" / "tmp"
        with socket.create_connection(("127.0.0.1", port_of(live)), timeout=30) as sock:
            sock.sendall(
                (
                    "POST /legacy/ HTTP/1.1\r\nHost: localhost\r\n"
                    "Content-Type: multipart/form-data; boundary=b0undary\r\n"
                    f"Authorization: {basic(token)}\r\nContent-Length: 60000000\r\n\r\n"
                    '--b0undary\r\nContent-Disposition: form-data; name="content"; '
                    'filename="crash_pkg-2.0-py3-none-any.whl"\r\n\r\n'
                ).encode()
            )
            for _ in range(12):  # 12 MB of the 60 announced
                sock.sendall(b"\0" * 1_000_000)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any(
                p.stat().st_size > 5_000_000 for p in spool.iterdir()
            ):
                time.sleep(0.05)
            os.killpg(live.process.pid, signal.SIGKILL)  # the master and every worker
            live.process.wait(20)
    finally:
        _stop(live.process)

    leftovers = [p for p in spool.iterdir() if p.is_file()]
    assert sum(p.stat().st_size for p in leftovers) > 5_000_000  # the spooled body, in data/
    files = stored_keys(live)
    assert files == row_keys(live)  # no row without its file, and no file (served) without its row
    assert len(files) == 2  # crash-pkg 1.0's wheel and its .metadata

    gc = live.bastion("storage", "gc", "--older-than", "0", "--json")

    removed = json.loads(gc.stdout)["removed"]
    assert {str(p.relative_to(live.data_dir)) for p in leftovers} <= set(removed)
    assert list(spool.iterdir()) == []
    assert stored_keys(live) == files
    assert list((live.data_dir / "uploads" / "staged").iterdir()) == []


class StallingRelay(threading.Thread):
    """A TCP relay to the S3 server that holds back, unanswered, the first request naming
    ``stall_on``: the upload of a wheel and then its ``.metadata`` stops right between the
    two, after the wheel's object is in the bucket and before its row commits."""

    def __init__(self, target_port: int, stall_on: bytes):
        super().__init__(daemon=True)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.target_port, self.stall_on = target_port, stall_on
        self.stalled = threading.Event()

    def run(self) -> None:
        with contextlib.suppress(OSError):  # the listener was closed
            while True:
                client, _ = self.listener.accept()
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
                for source, sink, inspect in ((client, upstream, True), (upstream, client, False)):
                    threading.Thread(
                        target=self._pipe, args=(source, sink, inspect), daemon=True
                    ).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, inspect: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if inspect and self.stall_on in data:
                    self.stalled.set()
                    return  # never forwarded, never answered: the sender waits
                sink.sendall(data)


def post_unanswered(index, token: str, dist: dists.Dist) -> None:
    """An upload whose server is killed before it answers."""
    with contextlib.suppress(requests.RequestException):
        post(index, token, dist)


def bucket_keys(endpoint: str, prefix: str) -> set[str]:
    listed = boto3.client("s3", endpoint_url=endpoint, **s3_credentials()).list_objects_v2(
        Bucket=BUCKET, Prefix=f"{prefix}/files/"
    )
    return {item["Key"].removeprefix(f"{prefix}/files/") for item in listed.get("Contents", [])}


def test_a_server_killed_between_publishing_to_s3_and_committing_leaves_an_orphan_gc_clears(
    tmp_path, s3_endpoint
):
    big = dists.wheel("crash-pkg", "2.0", extra_files={"crash_pkg/blob.bin": os.urandom(12 << 20)})
    orphan = key_for(big.blake2_256, big.filename)
    relay = StallingRelay(int(s3_endpoint.rsplit(":", 1)[1]), f"{orphan}.metadata ".encode())
    relay.start()
    try:
        _kill_between_publish_and_commit(tmp_path, s3_endpoint, relay, big, orphan)
    finally:
        relay.listener.close()


def _kill_between_publish_and_commit(tmp_path, s3_endpoint, relay, big, orphan) -> None:
    prefix = "robust"
    live = _start_server(
        tmp_path,
        {**AWS, "AWS_ENDPOINT_URL": relay.url, "BASTION_STORAGE_URL": f"s3://{BUCKET}/{prefix}"},
    )
    try:
        token = live.user_with_token("crash")
        assert post(live, token, dists.wheel("crash-pkg", "1.0")).status_code == 200
        threading.Thread(target=post_unanswered, args=(live, token, big), daemon=True).start()
        assert relay.stalled.wait(60), "the large upload never reached its .metadata"
        assert orphan in bucket_keys(s3_endpoint, prefix)  # published, its row not committed
        os.killpg(live.process.pid, signal.SIGKILL)  # the master and every worker
        live.process.wait(20)
    finally:
        _stop(live.process)

    rows = row_keys(live)
    assert bucket_keys(s3_endpoint, prefix) == rows | {orphan}  # no row without its object
    page = live.python(
        "import json, tempfile\n"
        "from bastion.simple import services\n"
        "target = tempfile.mkdtemp()\n"
        "assert services.render_project('crash-pkg', target)\n"
        "document = json.loads(open(f'{target}/simple/crash-pkg/index.json').read())\n"
        "print(json.dumps([entry['filename'] for entry in document['files']]))"
    )
    assert json.loads(page) == ["crash_pkg-1.0-py3-none-any.whl"]  # the orphan is on no page

    young = json.loads(live.bastion("storage", "gc", "--json").stdout)
    assert young["removed"] == [] and young["kept_young"] >= 1  # inside the safety delay
    gc = json.loads(live.bastion("storage", "gc", "--older-than", "0", "--json").stdout)
    assert f"s3://{BUCKET}/{prefix}/files/{orphan}" in gc["removed"]
    assert bucket_keys(s3_endpoint, prefix) == rows
    for leftovers in ("tmp", "staged"):  # the spooled body and the staged bytes, gone too
        assert list((live.data_dir / "uploads" / leftovers).iterdir()) == []
