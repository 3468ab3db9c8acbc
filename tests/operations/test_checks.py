"""``bastion check``: every configured dependency reached, and the failing one named with why."""

import json
import os
import socket
import threading

import pytest

from bastion.cli import main
from bastion.operations import checks

pytestmark = pytest.mark.django_db


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens once the socket is closed


def _smtp_server() -> tuple[int, list[bytes]]:
    """A one-connection SMTP server that greets, answers EHLO and QUIT, and records the lines."""
    listener = socket.create_server(("127.0.0.1", 0))
    heard: list[bytes] = []

    def serve() -> None:
        connection, _ = listener.accept()
        with connection, listener, connection.makefile("rwb") as stream:
            stream.write(b"220 test ESMTP\r\n")
            stream.flush()
            for line in stream:
                heard.append(line.strip())
                reply = b"250 test\r\n" if line.upper().startswith(b"EHLO") else b"221 bye\r\n"
                stream.write(reply)
                stream.flush()
                if reply.startswith(b"221"):
                    return

    threading.Thread(target=serve, daemon=True).start()
    return listener.getsockname()[1], heard


def test_check_reaches_the_database_and_data_directory_and_exits_0(capsys):
    assert main(["check", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    states = {check["name"]: check["state"] for check in report["checks"]}
    assert report["ok"] is True
    assert states["database"] == states["migrations"] == states["data directory"] == "ok"
    assert states["redis"] == states["smtp"] == "not configured"


def test_an_unreachable_redis_fails_the_check_naming_it_without_its_password(settings, capsys):
    settings.REDIS_URL = f"redis://:hunter2@127.0.0.1:{_closed_port()}/0"
    assert main(["check"]) == 1
    captured = capsys.readouterr()
    (line,) = [line for line in captured.out.splitlines() if "redis" in line]
    assert line.startswith("FAILING") and "127.0.0.1" in line
    assert "1 of" in captured.err and "redis" in captured.err
    assert "hunter2" not in captured.out + captured.err


def test_smtp_is_reached_with_ehlo_and_no_mail(settings, monkeypatch, capsys):
    port, heard = _smtp_server()
    monkeypatch.setenv("BASTION_SMTP_URL", f"smtp+plain://127.0.0.1:{port}")
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    assert main(["check", "--json"]) == 0
    (smtp,) = [c for c in json.loads(capsys.readouterr().out)["checks"] if c["name"] == "smtp"]
    assert smtp["state"] == "ok" and smtp["detail"] == f"127.0.0.1:{port}"
    assert [line.split()[0].upper() for line in heard] == [b"EHLO", b"QUIT"]


def test_an_unreachable_smtp_server_is_named_with_its_address(settings, monkeypatch, capsys):
    port = _closed_port()
    monkeypatch.setenv("BASTION_SMTP_URL", f"smtp+plain://127.0.0.1:{port}")
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    assert main(["check"]) == 1
    assert f"FAILING  smtp: 127.0.0.1:{port}: " in capsys.readouterr().out


def test_a_data_directory_others_may_list_fails_the_check(settings, capsys):
    mode = os.stat(settings.DATA_DIR).st_mode & 0o777
    os.chmod(settings.DATA_DIR, 0o755)  # noqa: S103 - the misconfiguration under test
    try:
        assert main(["check"]) == 1
    finally:
        os.chmod(settings.DATA_DIR, mode)
    assert "FAILING  data directory writes: " in capsys.readouterr().out


def test_a_registered_dependency_is_checked_and_its_failure_reported(monkeypatch):
    monkeypatch.setattr(checks, "REGISTRY", list(checks.REGISTRY))

    @checks.dependency("bucket", quick=True)
    def check_bucket() -> str:
        raise ConnectionError("no bucket named 'dists'")

    results = {r.name: r for r in checks.run_checks(quick_only=True)}
    assert results["bucket"].failed and results["bucket"].detail == "no bucket named 'dists'"
    assert "migrations" not in results  # not quick: only `bastion check` runs it
