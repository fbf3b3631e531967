"""Production serving with gunicorn (several worker processes, each with its own engine)."""
from __future__ import annotations

from gunicorn.app.base import BaseApplication

from gateway.config import Settings


class _Gunicorn(BaseApplication):
    def __init__(self, settings: Settings, options: dict):
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from gateway.wiring import build_app

        return build_app(self.settings, dispatcher=True)


def serve(settings: Settings, *, workers: int | None = None) -> None:
    options = {
        "bind": f"{settings.host}:{settings.port}",
        "workers": workers or settings.workers,
        # sync workers cost the least CPU per request (make bench); a slow client holds a whole
        # worker, so face the internet behind a buffering proxy or set GATEWAY_THREADS > 1
        "worker_class": "gthread" if settings.threads > 1 else "sync",
        "threads": max(1, settings.threads),
        "timeout": 60,
        "graceful_timeout": 20,
        "accesslog": settings.access_log or None,
        "limit_request_line": 8190,
        "preload_app": False,  # each worker opens its own database connections
    }
    _Gunicorn(settings, options).run()
