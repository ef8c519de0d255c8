"""FakeAnthropic: the Anthropic Messages API on a local FakeVenueServer, for the official SDK.

It answers `POST /v1/messages` the way the API does: a `message` object
(`{"id", "type": "message", "role": "assistant", "content": [{"type": "text", "text"}],
"model", "stop_reason", "stop_sequence", "usage": {"input_tokens", "output_tokens"}}`),
and errors as `{"type": "error", "error": {"type", "message"}, "request_id"}` with the
error type the API uses for the status (429 `rate_limit_error`, 529 `overloaded_error`, ...).
The key is accepted in `x-api-key` (the documented header) or as `Authorization: Bearer`
(what the installed SDK, 2.10.0, sends for `api_key=`); a wrong or missing key is a 401
`authentication_error`; a request without `anthropic-version`, `model`, `max_tokens` or a
user message is a 400 `invalid_request_error`.

The test scripts the answers, in order: `reply_text(text)` (a malformed answer is just
text that is not a verdict), `reply_refusal()` (`stop_reason: "refusal"`), `reply_error(status)`.
A request with nothing scripted gets a 400 (not retried by the SDK), so a test that
forgot to script a reply fails at once. Delays and Retry-After come from `server.inject(Fault(...))`.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from tests.fakes.llm_script import ScriptedAnswers
from tests.fakes.server import FakeVenueServer, HttpError, Request, Response, ServedFake

API_KEY = "sk-ant-api03-fake-KEY-do-not-log-0123456789"
MODEL = "claude-haiku-5-5"

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_ids = itertools.count(1)


def anthropic_error_body(status: int, reason: str) -> dict[str, Any]:
    error_type = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {
        "type": "error",
        "error": {"type": error_type, "message": reason},
        "request_id": f"req_fake{next(_ids):08d}",
    }


class FakeAnthropic(ScriptedAnswers, ServedFake):
    REFUSAL_TEXT = ""
    REFUSAL_TOKENS = 5

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.server = FakeVenueServer("anthropic", error_body=anthropic_error_body)
        self.server.route("POST", "/v1/messages")(self._messages)
        ScriptedAnswers.__init__(self)
        self.auth_headers_seen: list[str] = []  # which header carried the key, per request

    @property
    def url(self) -> str:
        """The SDK's `base_url` (it appends `/v1/messages`)."""
        return self.server.url

    @property
    def requests(self) -> list[Request]:
        return self.server.requests_to("POST", "/v1/messages")

    # ------------------------------------------------------------------ the API
    def _messages(self, request: Request, match: re.Match[str]) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        if self.api_key not in (headers.get("x-api-key"), _bearer(headers.get("authorization", ""))):
            raise HttpError(401, "invalid x-api-key")
        self.auth_headers_seen.append("x-api-key" if "x-api-key" in headers else "authorization")
        if not headers.get("anthropic-version"):
            raise HttpError(400, "anthropic-version: header is required")
        body = request.body
        if not isinstance(body, dict):
            raise HttpError(400, "request body must be a JSON object")
        problem = _request_problem(body)
        if problem is not None:
            raise HttpError(400, problem)
        reply = self._next_reply()
        request_id = f"req_fake{next(_ids):08d}"
        if reply.status is not None:
            return Response(
                reply.status, anthropic_error_body(reply.status, reply.text), {"request-id": request_id}
            )
        content = [{"type": "text", "text": reply.text}] if reply.text else []
        message = {
            "id": f"msg_fake{next(_ids):020d}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": "refusal" if reply.refusal else "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": reply.input_tokens,
                "output_tokens": reply.output_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "service_tier": "standard",
            },
        }
        if reply.refusal:
            message["stop_details"] = {"type": "refusal", "category": None, "explanation": None}
        return Response(200, message, {"request-id": request_id})


def _bearer(authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    return token if scheme == "Bearer" and token else None


def _request_problem(body: dict[str, Any]) -> str | None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: Field required"
    if messages[0].get("role") != "user":
        return 'messages: first message must use the "user" role'
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        return "system: Input should be a valid string or list of text blocks"
    return None
