"""Production serving: gunicorn (the default) or granian (``GATEWAY_SERVER=granian``), several
worker processes, each with its own engine.

gunicorn's sync workers answer one request per process at a time and close every connection;
granian keeps connections alive in Rust and hands the WSGI app its requests on a pool of
``GATEWAY_THREADS`` threads per worker (16 when unset: ``Settings.app_threads``), and ``serve``
starts it again when its crash-loop rule stops it. With clients that keep their connections open granian costs ≈ 0.5 ms less CPU per
envelope and answers 37-48 % more envelopes per second on SQLite, 10-15 % more on PostgreSQL
(docs/performance.md, «HTTP servers»); without keep-alive both cost the same.

Metrics: each worker counts into files of its own under ``<data dir>/prometheus/<master pid>``
(prometheus-client's multiprocess mode, gateway/http/metrics.py); the folder is new for every
server start (counters restart with the server) and removed when the server exits.
"""
from __future__ import annotations

import atexit
import logging
import os
import shutil
import time
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
    if settings.server == "granian":
        _serve_granian(settings, workers or settings.workers)
        return
    options = {
        "child_exit": _child_exit,
        "bind": f"{settings.host}:{settings.port}",
        "workers": workers or settings.workers,
        # sync workers cost the least CPU per request (make bench); a slow client holds a whole
        # worker, so face the internet behind a buffering proxy or set GATEWAY_THREADS > 1
        "worker_class": "gthread" if settings.app_threads > 1 else "sync",
        "threads": settings.app_threads,
        "timeout": 60,
        "graceful_timeout": 20,
        "accesslog": settings.access_log or None,
        "limit_request_line": 8190,
        "preload_app": False,  # each worker opens its own database connections
        "control_socket": control_socket(settings),
    }
    _Gunicorn(settings, options).run()


#: granian restarted after a crash loop at most this many times within RESTART_WINDOW seconds
MAX_RESTARTS, RESTART_WINDOW = 5, 60.0
_log = logging.getLogger("gateway.server")


def granian_app():
    """The WSGI app of one granian worker (``factory=True``: built in the worker, after the
    fork, like gunicorn's ``preload_app = False``). Its settings come from the environment the
    worker inherited, the one ``serve`` read."""
    from gateway.wiring import build_app

    return build_app(Settings.from_env(), dispatcher=True)


def _serve_granian(settings: Settings, workers: int) -> None:
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings

    log = None
    if settings.access_log:
        handler = ({"class": "logging.StreamHandler", "stream": "ext://sys.stdout"}
                   if settings.access_log == "-" else
                   {"class": "logging.FileHandler", "filename": settings.access_log})
        log = {"version": 1, "disable_existing_loggers": False,
               "handlers": {"access": handler},
               "loggers": {"granian.access": {"handlers": ["access"], "level": "INFO",
                                              "propagate": False}}}
    restarts: list[float] = []
    while True:
        server = Granian(
            f"{__name__}:granian_app", factory=True, interface=Interfaces.WSGI,
            address=settings.host, port=settings.port, workers=workers,
            # the threads that run the app: a request waiting for its group commit holds one
            blocking_threads=settings.app_threads,
            # SOAP clients speak HTTP/1.1; keep-alive is on, a header must arrive within 30 s
            http=HTTPModes.http1, http1_settings=HTTP1Settings(header_read_timeout=30_000),
            # a killed or crashed worker is replaced, as gunicorn does
            respawn_failed_workers=True, workers_kill_timeout=20,
            log_access=bool(settings.access_log), log_dictconfig=log,
        )
        try:
            server.serve()
            return
        except SystemExit as stop:
            # granian stops the whole server, exit status 1, when one worker slot dies twice
            # within 5.5 s ("crash loop"): two SIGKILLs or OOM kills in a row are enough. Start
            # it again, as gunicorn would go on replacing workers, unless it was asked to stop
            # or keeps failing (then a worker that cannot start is the likelier cause).
            now = time.monotonic()
            restarts[:] = [t for t in restarts if now - t < RESTART_WINDOW] + [now]
            if server.interrupt_signal or not stop.code or len(restarts) > MAX_RESTARTS:
                raise
            _log.error("granian stopped after its workers crashed repeatedly; starting it "
                       "again (%d of at most %d restarts in %.0f s)", len(restarts),
                       MAX_RESTARTS, RESTART_WINDOW)
            time.sleep(1.0)
