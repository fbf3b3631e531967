"""Production serving with gunicorn (several worker processes, each with its own engine).

Metrics: each worker counts into files of its own under ``<data dir>/prometheus/<master pid>``
(prometheus-client's multiprocess mode, gateway/http/metrics.py); the folder is new for every
server start (counters restart with the server) and removed when the server exits.
"""
from __future__ import annotations

import atexit
import os
import shutil
from pathlib import Path

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


def _child_exit(_server, worker) -> None:
    """A worker died: drop its live-gauge files (its counters stay in the sums)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def control_socket(settings: Settings) -> str:
    """gunicorn's control socket (``gunicornc``) of this gateway: in its data dir, named by its
    port. gunicorn's default is one path per user ($XDG_RUNTIME_DIR/gunicorn.ctl), so a second
    gateway on the host would take over (or break) the first one's. A Unix socket path has at
    most 107 bytes: a deep data dir gets a short path in the temp folder named by its hash."""
    import hashlib
    import tempfile

    path = settings.data_dir.resolve() / "run" / f"gunicorn-{settings.port}.ctl"
    if len(str(path).encode()) > 100:
        tag = hashlib.sha256(str(settings.data_dir.resolve()).encode()).hexdigest()[:16]
        path = Path(tempfile.gettempdir()) / f"gateway-{tag}-{settings.port}.ctl"
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def serve(settings: Settings, *, workers: int | None = None) -> None:
    # one folder per server (its master's pid): two servers on one data dir do not mix counts
    folder = settings.data_dir / "prometheus" / str(os.getpid())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    atexit.register(shutil.rmtree, folder, True)
    # read by prometheus-client when the workers import it (after the fork: preload_app is off)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    options = {
        "child_exit": _child_exit,
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
        "control_socket": control_socket(settings),
    }
    _Gunicorn(settings, options).run()
