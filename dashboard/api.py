"""The JSON API under /api/: one endpoint per panel, the live event stream, and the levers.

Reads are open to whoever can reach the server (it binds to 127.0.0.1 unless told
otherwise); every POST pulls a lever and must pass `security.control_refusal`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from dashboard import figures, fleet, history, models
from dashboard.context import Dashboard
from dashboard.live import DaemonUnavailable, LiveBridge
from dashboard.security import CSRF_COOKIE, CsrfTokens, control_refusal

api = Blueprint("api", __name__, url_prefix="/api")
log = logging.getLogger("dashboard")
MAX_REASON_LENGTH = 200


def dashboard() -> Dashboard:
    found: Dashboard = current_app.extensions["dashboard"]
    return found


def csrf_tokens() -> CsrfTokens:
    found: CsrfTokens = current_app.extensions["dashboard_csrf"]
    return found


def error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status


@api.errorhandler(DaemonUnavailable)
def _daemon_unavailable(exc: DaemonUnavailable) -> tuple[Response, int]:
    return error(503, str(exc))


@api.errorhandler(history.BadQuery)
def _bad_query(exc: history.BadQuery) -> tuple[Response, int]:
    return error(400, str(exc))


# ---------------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------------
@api.get("/session")
def session() -> Response:
    """What a page needs before its first control action: the mode, whether control works, a CSRF token."""
    board = dashboard()
    tokens = csrf_tokens()
    current = request.cookies.get(CSRF_COOKIE)
    token = current if current is not None and tokens.valid(current) else tokens.issue()
    access = board.control
    response = jsonify(
        {
            "read_only": board.read_only,
            "control": {"enabled": access.enabled, "note": access.note},
            "token_env": board.settings.dashboard.token_env,
            "csrf_token": token,
            "live_feed": board.feed is not None,
        }
    )
    if token != current:
        set_csrf_cookie(response, token)
    return response


def set_csrf_cookie(response: Response, token: str) -> None:
    # readable by the page's script (it echoes it in a header); never sent by another site's request
    response.set_cookie(CSRF_COOKIE, token, httponly=False, samesite="Strict", path="/")


@api.get("/overview")
def overview() -> Response:
    return jsonify(figures.overview(dashboard()))


@api.get("/bots")
def bots() -> Response:
    return jsonify(figures.bots(dashboard()))


@api.get("/positions")
def positions() -> Response:
    return jsonify(figures.positions(dashboard()))


@api.get("/trades")
def trades() -> Response:
    board = dashboard()
    return jsonify(history.trades(board, history.trade_query(board, request.args)))


@api.get("/trades.csv")
def trades_csv() -> Response:
    board = dashboard()
    where = history.trade_query(board, request.args).where
    return Response(
        history.trades_csv(board, where),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=closed-trades.csv"},
    )


@api.get("/signals")
def signals() -> Response:
    return jsonify(history.signals(dashboard(), request.args))


@api.get("/signals/<signal_id>")
def signal(signal_id: str) -> Response | tuple[Response, int]:
    road = history.signal_road(dashboard(), signal_id)
    if road is None:
        return error(404, f"no signal {signal_id!r} in the journal")
    return jsonify(road)


@api.get("/analytics")
def analytics() -> Response:
    return jsonify(history.analytics(dashboard()))


@api.get("/risk")
def risk() -> Response:
    return jsonify(figures.risk(dashboard()))


@api.get("/fleet")
def fleet_figures() -> Response:
    return jsonify(fleet.fleet(dashboard()))


@api.get("/regimes")
def regimes() -> Response:
    return jsonify(models.regimes(dashboard()))


@api.get("/models")
def model_registry() -> Response:
    return jsonify(models.models(dashboard()))


@api.get("/events")
def events() -> Response | tuple[Response, int]:
    """Server-Sent Events from the daemon's bus: `data:` is the event as JSON, `id:` its number."""
    feed = dashboard().feed
    if feed is None:
        return error(404, "no live feed: the daemon is not running (read-only mode)")
    subscription = feed.subscribe()
    if subscription is None:
        return error(503, "too many live streams are open; close a dashboard tab")
    after = request.headers.get("Last-Event-ID") or request.args.get("after")
    config = current_app.config
    stream = subscription.stream(
        int(after) if after and after.isdigit() else None,
        config["DASHBOARD_KEEPALIVE_SECONDS"],
        config["DASHBOARD_STREAM_SECONDS"],
        time.monotonic,
    )
    return Response(
        stream,
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# ---------------------------------------------------------------------------------------------------
# The levers
# ---------------------------------------------------------------------------------------------------
def lever(
    pull: Callable[[LiveBridge, str], Any], done: str, default_reason: str
) -> Response | tuple[Response, int]:
    board = dashboard()
    refusal = control_refusal(request, board, csrf_tokens())
    if refusal is not None:
        response, status = error(refusal.status, refusal.message)
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="dashboard"'
        return response, status
    reason = _reason(default_reason)
    assert board.live is not None  # control_refusal refuses read-only mode
    try:
        pull(board.live, reason)
    except KeyError as exc:
        return error(404, str(exc.args[0]) if exc.args else "unknown bot")
    log.info("%s from the dashboard (%s; client %s)", done, reason, request.remote_addr)
    return jsonify({"ok": True, "message": f"{done}: {reason}"})


def _reason(default: str) -> str:
    """The operator's words from the body's `reason`, kept short: they go to the journal and the log."""
    body = request.get_json(silent=True)
    given = body.get("reason") if isinstance(body, dict) else None
    return str(given)[:MAX_REASON_LENGTH] if given else default


@api.post("/bots/<name>/pause")
def pause_bot(name: str) -> Response | tuple[Response, int]:
    return lever(
        lambda live, reason: live.pause_bot(name, reason), f"{name} paused", "paused from the dashboard"
    )


@api.post("/bots/<name>/resume")
def resume_bot(name: str) -> Response | tuple[Response, int]:
    return lever(
        lambda live, reason: live.resume_bot(name, reason), f"{name} resumed", "resumed from the dashboard"
    )


@api.post("/bots/pause-all")
def pause_all() -> Response | tuple[Response, int]:
    return lever(LiveBridge.pause_all, "all bots paused", "all bots paused from the dashboard")


@api.post("/bots/resume-all")
def resume_all() -> Response | tuple[Response, int]:
    return lever(LiveBridge.resume_all, "all bots resumed", "all bots resumed from the dashboard")


@api.post("/trading/halt")
def halt_trading() -> Response | tuple[Response, int]:
    return lever(LiveBridge.halt_trading, "trading halted", "halted from the dashboard")


@api.post("/trading/resume")
def resume_trading() -> Response | tuple[Response, int]:
    return lever(LiveBridge.resume_trading, "trading resumed", "resumed from the dashboard")
