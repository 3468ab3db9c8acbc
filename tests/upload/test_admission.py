"""Before an upload's body is read: credentials, what the gate can say from them, and a slot.

A refusal here must come without reading the body (a slow sender without the right to upload
must not hold a thread), and must close the connection, since the unread body would otherwise be
taken for the next request.
"""

import os
import socket
import threading
import time

import pytest
from django.core.handlers.wsgi import WSGIRequest

from bastion.packaging.models import Project
from bastion.upload import admission
from bastion.web import request_bodies
from tests.upload import dists
from tests.upload.conftest import basic_auth

pytestmark = pytest.mark.django_db


@pytest.fixture
def body_reads(monkeypatch):
    """How many times a request body was parsed."""
    reads = []
    load = WSGIRequest._load_post_and_files

    def counting(request):
        reads.append(request.path)
        return load(request)

    monkeypatch.setattr(WSGIRequest, "_load_post_and_files", counting)
    return reads


def refused_before_the_body(response, status: int, message: str, body_reads: list) -> None:
    assert response.status_code == status, response.reason_phrase
    assert message in response.reason_phrase
    assert response["Connection"] == "close"
    assert body_reads == []


def test_missing_and_invalid_tokens_are_refused_without_reading_the_body(uploader, body_reads):
    missing = uploader.upload(dists.wheel().form(), auth="")
    invalid = uploader.upload(
        dists.wheel().form(), auth=basic_auth("__token__", "bastion-not-a-real-token")
    )

    refused_before_the_body(missing, 401, "Invalid or non-existent authentication", body_reads)
    refused_before_the_body(invalid, 403, "Invalid or non-existent authentication", body_reads)


def test_an_account_that_may_not_upload_anywhere_is_refused_without_reading_the_body(
    uploader, body_reads
):
    uploader.user.emails.update(verified=False)

    response = uploader.upload(dists.wheel().form())

    refused_before_the_body(
        response, 403, "does not have a verified primary email address", body_reads
    )


def test_a_scoped_token_passes_the_early_gate_and_is_judged_on_the_project(
    uploader, scoped_uploader, body_reads
):
    assert uploader.upload(dists.wheel("holy-grail").form()).status_code == 200
    scoped = scoped_uploader(Project.objects.get(normalized_name="holy-grail"))

    own = scoped.upload(dists.wheel("holy-grail", "2.0").form())
    other = scoped.upload(dists.wheel("other-project").form())

    assert own.status_code == 200, own.reason_phrase
    assert other.status_code == 403 and "scoped to one project" in other.reason_phrase


def test_uploads_beyond_the_per_address_cap_are_told_to_retry(uploader, settings, body_reads):
    settings.UPLOADS_IN_FLIGHT_PER_ADDRESS = 2
    with admission.upload_slot("127.0.0.1"), admission.upload_slot("127.0.0.1"):
        busy = uploader.upload(dists.wheel().form())
        with admission.upload_slot("192.0.2.1"):  # another address is not affected
            pass

    refused_before_the_body(busy, 503, "Too many uploads from your address", body_reads)
    assert busy["Retry-After"] == "30"
    assert uploader.upload(dists.wheel().form()).status_code == 200  # the slots were released


def test_uploads_beyond_the_server_cap_are_told_to_retry(uploader, settings, body_reads):
    settings.UPLOADS_IN_FLIGHT = 1
    with admission.upload_slot("192.0.2.1"):
        busy = uploader.upload(dists.wheel().form())

    refused_before_the_body(busy, 503, "The server is busy receiving other uploads", body_reads)


def _slot_in_child(directory, then=lambda: None) -> int | None:
    """The server slot (of 2) that a process forked now finds free once ``then`` has run here."""
    go_read, go_write = os.pipe()
    answer_read, answer_write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.read(go_read, 1)
        number = admission._SERVER_SLOTS.take(directory, 2)
        os.write(answer_write, b"-" if number is None else str(number).encode())
        os._exit(0)
    then()
    os.write(go_write, b"!")
    answer = os.read(answer_read, 8).decode()
    os.waitpid(child, 0)
    for fd in (go_read, go_write, answer_read, answer_write):
        os.close(fd)
    return None if answer == "-" else int(answer)


def test_server_slots_held_by_this_process_are_not_given_again_even_to_its_children(
    settings, tmp_path
):
    """A process keeps its slot files open; a thread must not get a sibling's slot (a second
    lock through the same open file would succeed), nor a forked child its parent's through a
    descriptor it inherited."""
    directory = tmp_path / "slots"
    directory.mkdir()
    admission._SERVER_SLOTS.release(directory, admission._SERVER_SLOTS.take(directory, 2))
    taken = []

    def take_in_a_thread():
        thread = threading.Thread(
            target=lambda: taken.append(admission._SERVER_SLOTS.take(directory, 2))
        )
        thread.start()
        thread.join()

    # Slot 0's file is open here, unlocked, when the child is forked; then a thread takes it.
    assert _slot_in_child(directory, then=take_in_a_thread) == 1
    assert taken == [0]
    assert admission._SERVER_SLOTS.take(directory, 2) == 1
    assert admission._SERVER_SLOTS.take(directory, 2) is None
    assert _slot_in_child(directory) is None

    admission._SERVER_SLOTS.release(directory, 0)
    assert _slot_in_child(directory) == 0
    admission._SERVER_SLOTS.release(directory, 1)


def _turn_taken() -> bool:
    """Whether another thread of this process finds the checking turn taken."""
    others = []

    def try_the_turn():
        others.append(admission._CHECKING.acquire(blocking=False))
        if others[-1]:
            admission._CHECKING.release()

    thread = threading.Thread(target=try_the_turn)
    thread.start()
    thread.join()
    return others == [False]


def test_a_received_upload_is_checked_and_recorded_in_its_process_turn_staged_outside(
    uploader, monkeypatch, body_reads
):
    """Only once the body has been read, one upload at a time in the process; the turn is free
    while the bytes are written and synced to disk."""
    from bastion.upload import services

    seen = []

    def noting_the_turn(step):
        def noted(*args, **kwargs):
            seen.append((step.__name__, _turn_taken(), len(body_reads)))
            return step(*args, **kwargs)

        return noted

    for step in ("_check_upload", "_stage", "_commit"):
        monkeypatch.setattr(services, step, noting_the_turn(getattr(services, step)))

    assert uploader.upload(dists.wheel().form()).status_code == 200
    assert seen == [("_check_upload", True, 1), ("_stage", False, 1), ("_commit", True, 1)]


def test_the_default_server_cap_leaves_half_the_threads_to_reads(settings):
    settings.UPLOADS_IN_FLIGHT = 0
    assert admission.server_capacity() == admission.server_threads() // 2


def test_a_body_behind_the_minimum_rate_is_refused_at_the_next_read():
    class Trickle:
        def read(self, size):
            time.sleep(0.05)
            return b"x"

    body = request_bodies._DeadlineInput(Trickle(), 1000, grace=0.1, min_rate=1000, fd=None)

    with pytest.raises(request_bodies.BodyTooSlow, match="arrived too slowly"):
        for _ in range(10):
            body.read(65536)


def test_a_read_blocked_past_the_deadline_is_cut_off_by_the_watchdog():
    server, client = socket.socketpair()
    body = request_bodies._DeadlineInput(
        server.makefile("rb"), 1_000_000, grace=0.2, min_rate=1_000_000, fd=server.fileno()
    )
    outcome = []

    def read():
        try:
            body.read(65536)  # the client sends nothing: this read would block for good
        except request_bodies.BodyTooSlow as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    started = time.monotonic()
    reader.start()
    reader.join(5)
    try:
        assert outcome and isinstance(outcome[0], request_bodies.BodyTooSlow)
        assert time.monotonic() - started < 3
    finally:
        client.close()
        server.close()
