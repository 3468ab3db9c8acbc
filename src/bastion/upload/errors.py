"""The one way an upload is refused."""


class UploadRejected(Exception):
    """An upload refused with an HTTP ``status`` and a one-line ``message`` people read.

    The message becomes both the HTTP reason phrase (all twine shows) and the response body
    (what uv, pdm and poetry show), so it must say what went wrong and what to do.
    """

    def __init__(self, status: int, message: str, *, retry_after: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after  # seconds, sent as Retry-After (429, 503)
