"""Receiving the upload's body: refusing an oversized distribution while it streams in, not
after it has been spooled, and keeping each file part's name as the client sent it.

Django writes a file part to a temporary file as it reads it. Without a cap, a multi-gigabyte
upload would fill the disk before the size check could refuse it; this handler stops storing at
the limit and lets Django drain the rest of the request, so the refusal still reaches the client.
"""

import html

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParser
from django.utils.datastructures import ImmutableList


class SizeCap(FileUploadHandler):
    """Placed first among the request's upload handlers; ``exceeded`` tells the view to refuse."""

    exceeded = False

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > settings.MAX_UPLOAD_BYTES:
            self.exceeded = True
            raise StopUpload(connection_reset=False)  # Django reads and discards the rest
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler (a temporary file) holds the bytes


class NamesAsSent(MultiPartParser):
    """Django's parser, which also keeps the file names as the client sent them.

    Django quietly cuts a name to what follows its last ``/`` or ``\\`` and drops characters
    it cannot print, so ``../../spam-1.0.tar.gz`` would be stored as ``spam-1.0.tar.gz``; PyPI
    refuses such a name, and so does the upload once it has read the names as sent.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.names_as_sent: list[str] = []

    def sanitize_file_name(self, file_name: str) -> str | None:
        self.names_as_sent.append(html.unescape(file_name))  # as Django reads it, uncut
        return super().sanitize_file_name(file_name)


def keep_names_as_sent(request: HttpRequest) -> list[str]:
    """Parse ``request``'s body with :class:`NamesAsSent` when it is read; the names it sent
    fill the list returned."""
    names: list[str] = []

    def parse_file_upload(meta, post_data):
        request.upload_handlers = ImmutableList(request.upload_handlers)
        parser = NamesAsSent(meta, post_data, request.upload_handlers, request.encoding)
        parsed = parser.parse()
        names.extend(parser.names_as_sent)
        return parsed

    request.parse_file_upload = parse_file_upload  # type: ignore[method-assign]
    return names
