"""The Flask app: pages (HTML shells that fetch their figures from /api/) and the JSON API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, render_template, request
from flask.json.provider import DefaultJSONProvider

from dashboard.api import api, set_csrf_cookie
from dashboard.context import Dashboard, plain
from dashboard.live import KEEPALIVE_SECONDS, STREAM_SECONDS
from dashboard.security import CSRF_COOKIE, CsrfTokens

# Everything the pages load comes from this server: no CDN, no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

PAGES = {
    "overview": ("/", "Overview"),
    "bots": ("/bots", "Bots"),
    "positions": ("/positions", "Positions & trades"),
    "signals": ("/signals", "Decision trace"),
    "analytics": ("/analytics", "Analytics"),
    "risk": ("/risk", "Risk"),
    "fleet": ("/fleet", "Fleet"),
    "models": ("/models", "Regimes & models"),
}

pages = Blueprint("pages", __name__)


class DashboardJson(DefaultJSONProvider):
    """Money as exact decimal text, times in ISO 8601 (Flask's default writes HTTP dates)."""

    sort_keys = False

    @staticmethod
    def default(o: Any) -> Any:
        return plain(o)


def create_app(
    dashboard: Dashboard,
    *,
    csrf: CsrfTokens | None = None,
    stream_seconds: float = STREAM_SECONDS,
    keepalive_seconds: float = KEEPALIVE_SECONDS,
) -> Flask:
    app = Flask(__name__)
    app.json_provider_class = DashboardJson
    app.json = DashboardJson(app)
    app.extensions["dashboard"] = dashboard
    app.extensions["dashboard_csrf"] = csrf or CsrfTokens()
    app.config.update(
        DASHBOARD_STREAM_SECONDS=stream_seconds,
        DASHBOARD_KEEPALIVE_SECONDS=keepalive_seconds,
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    app.register_blueprint(api)
    app.register_blueprint(pages)
    app.after_request(_security_headers)
    return app


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _page(name: str, **extra: Any) -> Response:
    board: Dashboard = current_app.extensions["dashboard"]
    tokens: CsrfTokens = current_app.extensions["dashboard_csrf"]
    access = board.control
    html = render_template(
        f"{name}.html",
        page=name,
        pages=PAGES,
        read_only=board.read_only,
        read_only_note=board.read_only_note,
        control_enabled=access.enabled,
        control_note=access.note,
        token_env=board.settings.dashboard.token_env,
        live_feed=board.feed is not None,
        **extra,
    )
    response = Response(html, mimetype="text/html")
    current = request.cookies.get(CSRF_COOKIE)
    if not tokens.valid(current):
        set_csrf_cookie(response, tokens.issue())
    return response


@pages.get("/")
def overview() -> Response:
    return _page("overview")


@pages.get("/bots")
def bots() -> Response:
    return _page("bots")


@pages.get("/positions")
def positions() -> Response:
    return _page("positions")


@pages.get("/signals")
def signals() -> Response:
    return _page("signals")


@pages.get("/signals/<signal_id>")
def signal(signal_id: str) -> Response:
    if len(signal_id) > 200:
        abort(404)
    return _page("signal", signal_id=signal_id)


@pages.get("/analytics")
def analytics() -> Response:
    return _page("analytics")


@pages.get("/risk")
def risk() -> Response:
    return _page("risk")


@pages.get("/fleet")
def fleet() -> Response:
    return _page("fleet")


@pages.get("/models")
def models() -> Response:
    return _page("models")
