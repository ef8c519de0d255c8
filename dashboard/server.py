"""Serving the dashboard: waitress on a daemon thread, beside the daemon or on its own (read-only).

`attach_dashboard` is what the wiring calls: it starts the server at the end of the
orchestrator's start-up, on the daemon's loop (so the bridge can capture that loop),
and stops it on shutdown. `serve_read_only` is `master_orchestrator.py run
--dashboard-only`: the journal alone, no levers, until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from waitress import wasyncore
from waitress.server import create_server

from config.schema import Settings
from dashboard.app import create_app
from dashboard.context import READ_ONLY_NOTE, Dashboard, control_token
from dashboard.live import EventFeed, LiveBridge
from storage.reports import Reports
from utils.clock import Clock, WallClock

if TYPE_CHECKING:
    from flask import Flask

    from master_orchestrator import Orchestrator

log = logging.getLogger("dashboard")

WORKER_THREADS = 16  # each open live stream holds one; EventFeed admits at most 8
MAX_STREAMS = 8
POLL_SECONDS = 0.2  # how soon the serving thread notices stop()


class DashboardServer:
    """waitress's HTTP server, run by a loop of our own on a daemon thread so `stop()` is clean."""

    def __init__(self, app: Flask, host: str, port: int, *, feed: EventFeed | None = None) -> None:
        self._map: dict[int, Any] = {}
        # binds now: a port in use fails here, in the caller, not later in the thread
        self._server: Any = create_server(
            app,
            map=self._map,
            host=host,
            port=port,
            threads=WORKER_THREADS,
            ident="dashboard",
            expose_tracebacks=False,
            clear_untrusted_proxy_headers=True,
        )
        self._feed = feed
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = str(self._server.effective_host), int(self._server.effective_port)
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"

    @property
    def port(self) -> int:
        return int(self._server.effective_port)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="dashboard", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            while not self._stopping.is_set():
                # poll(), where the platform has it: select() fails past descriptor 1024
                wasyncore.loop(timeout=POLL_SECONDS, use_poll=True, map=self._map, count=1)
        finally:
            self._server.task_dispatcher.shutdown(timeout=2)
            wasyncore.close_all(self._map, ignore_all=True)

    def stop(self, timeout: float = 5.0) -> None:
        if self._feed is not None:
            self._feed.close()  # live streams end, freeing their worker threads
        self._stopping.set()  # the serving thread sees it within POLL_SECONDS and closes everything
        if self._thread is None:
            wasyncore.close_all(self._map, ignore_all=True)
            return
        self._thread.join(timeout)


class DashboardService:
    """The dashboard of a running daemon: started on its loop, stopped with it."""

    def __init__(self, orchestrator: Orchestrator, token: str | None, token_problem: str | None) -> None:
        self._orchestrator = orchestrator
        self._token = token
        self._token_problem = token_problem
        self._server: DashboardServer | None = None
        self._unsubscribe: Callable[[], None] | None = None

    @property
    def url(self) -> str | None:
        return None if self._server is None else self._server.url

    async def start(self) -> None:
        orchestrator = self._orchestrator
        settings = orchestrator.settings.dashboard
        feed = EventFeed(max_clients=MAX_STREAMS)
        dashboard = Dashboard(
            settings=orchestrator.settings,
            reports=Reports(Path(orchestrator.settings.system.database)),
            clock=orchestrator.clock,
            live=LiveBridge(orchestrator, asyncio.get_running_loop()),
            feed=feed,
            token=self._token,
            token_problem=self._token_problem,
        )
        try:
            server = DashboardServer(create_app(dashboard), settings.host, settings.port, feed=feed)
        except OSError as exc:
            log.error("dashboard not started: cannot listen on %s:%d (%s)", settings.host, settings.port, exc)
            return
        self._unsubscribe = orchestrator.bus.subscribe(feed.publish)
        dashboard.warm_up()
        server.start()
        self._server = server
        control = "control enabled" if self._token else f"control disabled: {self._token_problem}"
        log.info("dashboard at %s (%s)", server.url, control)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._server is not None:
            self._server.stop()
            self._server = None
            log.info("dashboard stopped")


def attach_dashboard(orchestrator: Orchestrator, environ: Mapping[str, str]) -> DashboardService | None:
    """Start the dashboard with the daemon and stop it on shutdown; None (and a log line) when disabled."""
    settings = orchestrator.settings.dashboard
    if not settings.enabled:
        log.info("dashboard disabled in the settings ([dashboard] enabled = false)")
        return None
    token, problem = control_token(orchestrator.settings, environ)
    service = DashboardService(orchestrator, token, problem)
    orchestrator.on_start.append(service.start)
    orchestrator.on_shutdown.append(service.stop)
    return service


def serve_read_only(
    settings: Settings,
    *,
    announce: Callable[[str], None] = print,
    stop: threading.Event | None = None,
    clock: Clock | None = None,
    note: str | None = None,
) -> int:
    """Serve the journal read-only until Ctrl-C (or SIGTERM, or `stop` is set); the exit status.

    `clock` says when "now" is (default the wall clock; a replay's journal is shown as of its end),
    `note` replaces the pages' read-only banner."""
    dashboard = Dashboard(
        settings=settings,
        reports=Reports(Path(settings.system.database)),
        clock=clock or WallClock(),
        read_only_note=note or READ_ONLY_NOTE,
    )
    host, port = settings.dashboard.host, settings.dashboard.port
    try:
        server = DashboardServer(create_app(dashboard), host, port)
    except OSError as exc:
        announce(f"cannot listen on {host}:{port}: {exc}")
        return 1
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        # SIGINT too, explicitly: a process started in the background by a shell inherits SIGINT
        # ignored, and Ctrl-C (or `kill -INT`) would then never reach it as KeyboardInterrupt
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, lambda signum, frame: stop.set())
    dashboard.warm_up()
    server.start()
    announce(f"dashboard (read-only, the daemon is down) at {server.url} - Ctrl-C to stop")
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
