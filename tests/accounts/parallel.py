"""Run one piece of work in several threads at once, as a server's worker threads would."""

import threading
from collections.abc import Callable

from django.db import connection


def in_parallel(work: Callable[[], None], threads: int = 8) -> list[Exception]:
    """Run ``work`` in ``threads`` threads, each with its own database connection (closed at
    its end); return what they raised."""
    errors: list[Exception] = []

    def run() -> None:
        try:
            work()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    started = [threading.Thread(target=run) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()
    return errors
