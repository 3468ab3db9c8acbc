"""Serving with gunicorn: a real multi-process server, never Django's runserver."""

import os

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from bastion.wsgi import application

        return application


def default_workers() -> int:
    return max(2, (os.cpu_count() or 1) * 2)


def serve(*, bind: str, workers: int | None = None) -> None:
    """Run until stopped. HTTP/1.1 keeps the reason phrase twine prints for upload errors."""
    _Gunicorn(
        {
            "bind": bind,
            "workers": workers or default_workers(),
            "worker_class": "gthread",
            "threads": 4,
            "timeout": 300,
            "keepalive": 5,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "preload_app": True,
        }
    ).run()
