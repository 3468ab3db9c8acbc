"""Refusing an oversized distribution while it streams in, not after it has been spooled.

Django writes a file part to a temporary file as it reads it. Without a cap, a multi-gigabyte
upload would fill the disk before the size check could refuse it; this handler stops storing at
the limit and lets Django drain the rest of the request, so the refusal still reaches the client.
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload


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
