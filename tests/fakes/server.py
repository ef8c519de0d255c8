"""FakeVenueServer: a threaded HTTP server on 127.0.0.1 with a route table, a request log and faults.

A venue's fake subclasses nothing: it builds one server, registers its real
paths with `route`, and renders its JSON shapes from a `FakeExchange`. Tests
make it misbehave with `inject(Fault(...))`:
- `status`: answer that status (with `retry_after` as a Retry-After header) and
  the venue's error body, without touching the book;
- `delay`: wait that long, then handle the request normally (past the client's
  timeout, the client sees a timeout; the server still does the work);
- `drop`: handle the request (the book changes), then close the connection
  without answering: the "order went out but the acknowledgement was lost" case.
A fault applies to the next `times` requests that match its method and path fragment.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True, slots=True)
class Request:
    """One request as it arrived; `at` is time.monotonic()."""

    at: float
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any  # parsed JSON, a form dict, or the raw text
    raw_body: str
    raw_query: str = ""  # the query string exactly as sent (what a venue's signature covers)


@dataclass(slots=True)
class Response:
    status: int = 200
    body: Any = None  # JSON-serialisable; a str is sent as is
    headers: dict[str, str] = field(default_factory=dict)


class HttpError(Exception):
    """Raised by a route handler: the server answers `status` with the venue's error body."""

    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}


@dataclass(slots=True)
class Fault:
    status: int | None = None
    retry_after: str | None = None
    delay: float = 0.0
    drop: bool = False
    reason: str = "injected fault"
    method: str | None = None
    path_contains: str | None = None
    times: int = 1

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method != method:
            return False
        return self.path_contains is None or self.path_contains in path


class _QuietServer(ThreadingHTTPServer):
    """A client that goes away mid-answer (a stopped bot's long poll, a dropped fault) is normal
    for a fake venue: no traceback for it; anything else is still reported."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


Handler = Callable[[Request, "re.Match[str]"], Response | Any]
ErrorBody = Callable[[int, str], Any]


def _default_error_body(status: int, reason: str) -> Any:
    return {"message": reason}


class FakeVenueServer:
    def __init__(self, name: str, error_body: ErrorBody = _default_error_body) -> None:
        self.name = name
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self.requests: list[Request] = []
        self.error_body = error_body
        # headers the venue adds to every answer (e.g. its rate-limit headroom), from the request
        self.extra_headers: Callable[[Request], dict[str, str]] | None = None
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ set-up
    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        """Register `handler(request, match)` for `method` and a regex matched against the whole path."""

        def register(handler: Handler) -> Handler:
            self._routes.append((method.upper(), re.compile(pattern + r"\Z"), handler))
            return handler

        return register

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def requests_to(self, method: str, path_contains: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.method == method and path_contains in r.path]

    @property
    def url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeVenueServer:
        server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # shutdown() waits up to one poll
            name=f"fake-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ------------------------------------------------------------------ serving
    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _dispatch(self, request: Request) -> Response:
        for method, pattern, handler in self._routes:
            if method != request.method:
                continue
            match = pattern.match(request.path)
            if match is None:
                continue
            try:
                answer = handler(request, match)
            except HttpError as error:
                return Response(error.status, self.error_body(error.status, error.reason), error.headers)
            return answer if isinstance(answer, Response) else Response(200, answer)
        return Response(404, self.error_body(404, f"no route for {request.method} {request.path}"))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        venue = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                body: Any = raw
                content_type = self.headers.get("Content-Type", "")
                if raw and ("json" in content_type or raw.lstrip().startswith(("{", "["))):
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = raw
                elif raw and "form" in content_type:
                    body = {k: v[-1] for k, v in parse_qs(raw).items()}
                request = Request(
                    at=time.monotonic(),
                    method=self.command,
                    path=parts.path,
                    query={k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                    headers={k: v for k, v in self.headers.items()},
                    body=body,
                    raw_body=raw,
                    raw_query=parts.query,
                )
                with venue._lock:
                    venue.requests.append(request)
                fault = venue._take_fault(request.method, request.path)
                if fault is not None and fault.delay:
                    time.sleep(fault.delay)
                if fault is not None and fault.status is not None:
                    headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                    response = Response(fault.status, venue.error_body(fault.status, fault.reason), headers)
                else:
                    response = venue._dispatch(request)
                if fault is not None and fault.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                if venue.extra_headers is not None:
                    response.headers = {**venue.extra_headers(request), **response.headers}
                self._send(response)

            def _send(self, response: Response) -> None:
                payload = response.body
                if isinstance(payload, str | bytes):
                    data = payload.encode() if isinstance(payload, str) else payload
                    content_type = "text/plain"
                else:
                    data = json.dumps(payload).encode()
                    content_type = "application/json"
                self.send_response(response.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

        return _Handler


class ServedFake:
    """What every fake venue shares: it holds a `FakeVenueServer` as `server`; `start()` (which
    returns the fake, for `FakeX().start()`), `stop()` and the base `url` its SDK is pointed at."""

    server: FakeVenueServer

    def start(self) -> Self:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url
