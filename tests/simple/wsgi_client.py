"""A minimal WSGI client: the read path is plain WSGI, so Django's test client cannot reach it."""

import json
from dataclasses import dataclass
from io import BytesIO
from urllib.parse import unquote_to_bytes
from wsgiref.util import FileWrapper, setup_testing_defaults

from django.core.signals import request_finished, request_started
from django.db import close_old_connections


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        assert len(values) <= 1, f"header {name} sent {len(values)} times"
        return values[0] if values else None

    def json(self):
        return json.loads(self.body)


class WSGIClient:
    def __init__(self, app):
        self.app = app

    def request(self, method: str, url: str, headers: dict[str, str] | None = None) -> Answer:
        path, _, query = url.partition("?")
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "wsgi.input": BytesIO(),
            "wsgi.file_wrapper": FileWrapper,
        }
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        setup_testing_defaults(environ)
        captured = {}

        def start_response(status, response_headers, exc_info=None):
            captured["status"] = int(status.split()[0])
            captured["headers"] = response_headers

        # As Django's test client does: the test's transaction must outlive the "request".
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            result = self.app(environ, start_response)
            try:
                body = b"".join(result)
            finally:
                if hasattr(result, "close"):
                    result.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return Answer(captured["status"], captured["headers"], body)

    def get(self, url: str, **headers: str) -> Answer:
        return self.request("GET", url, _header_names(headers))

    def head(self, url: str, **headers: str) -> Answer:
        return self.request("HEAD", url, _header_names(headers))


def _header_names(headers: dict[str, str]) -> dict[str, str]:
    """``if_none_match=`` keyword arguments become ``If-None-Match`` headers."""
    return {name.replace("_", "-"): value for name, value in headers.items()}
