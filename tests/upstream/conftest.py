"""A tiny fake upstream index on the loopback, and Bastion's read path pointed at it."""

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.simple.conftest import committed, data_dirs, index  # noqa: F401

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass
class FakeUpstream:
    """Routes by path: (status, content type, body). Counts requests; can be slow or down."""

    url: str = ""
    routes: dict[str, tuple[int, str, bytes]] = field(default_factory=dict)
    requests: list[tuple[str, dict]] = field(default_factory=list)
    delay: float = 0.0
    server: ThreadingHTTPServer | None = None

    def count(self, path: str) -> int:
        return sum(1 for requested, _ in self.requests if requested == path)

    def add_file(self, path: str, body: bytes, content_type="application/octet-stream") -> str:
        self.routes[path] = (200, content_type, body)
        return hashlib.sha256(body).hexdigest()

    def add_page(self, name: str, files: list[dict], html: bool = False) -> None:
        if html:
            anchors = "".join(
                f'<a href="{f["url"]}#sha256={f["hashes"]["sha256"]}"'
                + (f' data-requires-python="{f["rp_html"]}"' if f.get("rp_html") else "")
                + (" data-yanked" if f.get("yanked") else "")
                + f">{f['filename']}</a>"
                for f in files
            )
            body = f"<!DOCTYPE html><html><body>{anchors}</body></html>".encode()
            self.routes[f"/simple/{name}/"] = (200, "text/html", body)
        else:
            listed = [{k: v for k, v in f.items() if not k.startswith("_")} for f in files]
            document = {"meta": {"api-version": "1.1"}, "name": name, "files": listed}
            self.routes[f"/simple/{name}/"] = (200, JSON_TYPE, json.dumps(document).encode())

    def stop(self) -> None:
        """Make the upstream unreachable (connection refused), as when it is down."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def _handler(fake: FakeUpstream):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            fake.requests.append((self.path, dict(self.headers)))
            if fake.delay:
                time.sleep(fake.delay)
            status, content_type, body = fake.routes.get(self.path, (404, "text/plain", b"no"))
            etag = '"' + hashlib.sha256(body).hexdigest() + '"'
            if status == 200 and self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def upstream(settings):
    from django.core.cache import cache

    cache.clear()  # an earlier test's upstream (absent, unreachable) is not this one
    fake = FakeUpstream()
    fake.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{fake.server.server_address[1]}"
    threading.Thread(target=fake.server.serve_forever, daemon=True).start()
    settings.UPSTREAM_URL = f"{fake.url}/simple/"
    settings.UPSTREAM_PAGE_TTL = 600
    settings.UPSTREAM_EXCLUDE = []
    settings.UPSTREAM_CONNECT_TIMEOUT = 2
    settings.UPSTREAM_READ_TIMEOUT = 5
    yield fake
    fake.stop()


def wheel_entry(fake: FakeUpstream, name: str, version: str, **extra) -> dict:
    """Serve a wheel (and its .metadata) upstream; the PEP 691 entry that lists it."""
    filename = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    body = f"wheel {filename}\n".encode() * 50
    sha = fake.add_file(f"/files/{filename}", body)
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode()
    metadata_sha = fake.add_file(f"/files/{filename}.metadata", metadata)
    entry = {
        "filename": filename,
        "url": f"../../files/{filename}",  # relative to the page, as PEP 503 allows
        "hashes": {"sha256": sha},
        "requires-python": ">=3.8",
        "core-metadata": {"sha256": metadata_sha},
        "size": len(body),
        "yanked": False,
        "_body": body,
        "_metadata": metadata,
    }
    entry.update(extra)
    return entry
