"""Who may pull the levers: a bearer token, plus a CSRF check for the browser.

A control action (pause, resume, halt) is a POST that must carry
- `Authorization: Bearer <token>`, compared in constant time with the token in the
  environment variable `settings.dashboard.token_env`; and
- the CSRF token: the `dashboard_csrf` cookie the server set (signed with a key that
  lives only in this process, so a cookie planted by a neighbouring site is refused)
  echoed in the `X-CSRF-Token` header. Another site can neither read the cookie nor
  send a custom header without a CORS preflight, which this server never grants.
A browser's `Origin` (or `Sec-Fetch-Site`) naming another site is refused as well.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Request

from dashboard.context import Dashboard

CSRF_COOKIE = "dashboard_csrf"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True, slots=True)
class Refusal:
    status: int
    message: str


class CsrfTokens:
    """Issues and checks signed double-submit tokens: `<nonce>.<HMAC(key, nonce)>`."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def issue(self) -> str:
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._signature(nonce)}"

    def valid(self, token: str | None) -> bool:
        if not token or "." not in token:
            return False
        nonce, _, signature = token.partition(".")
        return hmac.compare_digest(signature.encode(), self._signature(nonce).encode())

    def _signature(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()


def control_refusal(request: Request, dashboard: Dashboard, csrf: CsrfTokens) -> Refusal | None:
    """None when the request may pull a lever; otherwise the status and the reason it may not."""
    access = dashboard.control
    if not access.enabled:
        return Refusal(403, access.note or "control is disabled")
    if _cross_site(request):
        return Refusal(403, "cross-site request refused: control actions only come from this dashboard")
    cookie = request.cookies.get(CSRF_COOKIE)
    header = request.headers.get(CSRF_HEADER)
    if not (
        cookie and header and hmac.compare_digest(cookie.encode(), header.encode()) and csrf.valid(cookie)
    ):
        return Refusal(403, "CSRF check failed: reload the page (it sets a fresh CSRF cookie) and try again")
    token = dashboard.token
    assert token is not None  # control.enabled
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        return Refusal(401, "a valid bearer token is needed: enter the dashboard token (the Token button)")
    return None


def _cross_site(request: Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        return True
    return request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none")
