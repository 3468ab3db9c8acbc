"""Fixtures for the account tests: a clean rate-limit cache, a mailbox, a local HTTP service."""

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

PASSWORD = "a long unguessable pass 42"


@pytest.fixture(autouse=True)
def _fresh_rate_limits(fresh_rate_limits):
    yield


@pytest.fixture
def mailbox(settings):
    """Django's in-memory outbox: ``mailbox`` is the list of sent messages."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    return mail.outbox


def mails_to(outbox, address: str) -> list:
    return [message for message in outbox if message.to == [address]]


def link_in(message, path_prefix: str) -> str:
    """The path of the first link in ``message`` (a mail or its text) under ``path_prefix``."""
    body = message if isinstance(message, str) else message.body
    found = re.search(r"https?://[^/\s]+(" + re.escape(path_prefix) + r"\S*)", body)
    assert found, f"no {path_prefix} link in: {body}"
    return found.group(1)


@pytest.fixture
def member(db):
    """A user with a password and a verified primary address, and a client logged in as them."""
    from bastion.accounts.services import create_user

    return create_user(
        username="maria", email="maria@example.org", password=PASSWORD, verified=True
    )


@pytest.fixture
def logged_in(client, member):
    client.force_login(member)
    return client


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    delay: float = 0.0


@dataclass
class FixtureServer:
    """A real HTTP server on 127.0.0.1 that answers from ``routes`` and remembers each path."""

    url: str
    routes: dict[str, Route]
    seen: list[str] = field(default_factory=list)

    def json(self, path: str, document: dict, status: int = 200) -> None:
        self.routes[path] = Route(status, json.dumps(document).encode(), "application/rdap+json")


@pytest.fixture
def http_fixture():
    routes: dict[str, Route] = {}
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            route = routes.get(self.path, Route(404, b"not found"))
            time.sleep(route.delay)
            try:
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts)
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield FixtureServer(f"http://127.0.0.1:{server.server_address[1]}", routes, seen)
    server.shutdown()
    server.server_close()
