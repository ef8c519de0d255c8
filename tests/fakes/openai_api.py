"""FakeOpenAI: OpenAI's Chat Completions API on a local FakeVenueServer, for the official SDK.

It answers `POST /v1/chat/completions` with a `chat.completion` object
(`choices[0].message.content` / `.refusal`, `finish_reason`, `usage.prompt_tokens` /
`completion_tokens` / `total_tokens`), and errors as
`{"error": {"message", "type", "param", "code"}}`. A wrong or missing `Authorization:
Bearer` key is a 401 `invalid_api_key`. Like the API, it refuses (400) a strict
`json_schema` response format whose objects are not closed (`additionalProperties: false`)
or do not list every property as required.

The test scripts the answers, in order: `reply_text(text)`, `reply_refusal(text)`
(`content: null`, `refusal: text`), `reply_error(status)`. A request with nothing scripted
gets a 400, so a test that forgot to script a reply fails at once. Delays and Retry-After
come from `server.inject(Fault(...))`.
"""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

from tests.fakes.llm_script import ScriptedAnswers
from tests.fakes.server import FakeVenueServer, HttpError, Request, Response, ServedFake

API_KEY = "sk-proj-fake-KEY-do-not-log-0123456789"
MODEL = "gpt-4o-mini"

_ERRORS = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", "unsupported_country_region_territory"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
    500: ("server_error", None),
    503: ("server_error", None),
}
_ids = itertools.count(1)


def openai_error_body(status: int, reason: str) -> dict[str, Any]:
    error_type, code = _ERRORS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    return {"error": {"message": reason, "type": error_type, "param": None, "code": code}}


class FakeOpenAI(ScriptedAnswers, ServedFake):
    REFUSAL_TEXT = "I'm sorry, I can't help with that."
    REFUSAL_TOKENS = 9

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.server = FakeVenueServer("openai", error_body=openai_error_body)
        self.server.route("POST", "/v1/chat/completions")(self._completions)
        ScriptedAnswers.__init__(self)

    @property
    def url(self) -> str:
        """The SDK's `base_url` (the SDK's default ends in `/v1`; it appends `/chat/completions`)."""
        return self.server.url + "/v1"

    @property
    def requests(self) -> list[Request]:
        return self.server.requests_to("POST", "/v1/chat/completions")

    # ------------------------------------------------------------------ the API
    def _completions(self, request: Request, match: re.Match[str]) -> Response:
        authorization = {k.lower(): v for k, v in request.headers.items()}.get("authorization", "")
        if authorization != f"Bearer {self.api_key}":
            # the real message quotes a masked key; the fake does not echo it at all
            raise HttpError(
                401,
                "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.",
            )
        body = request.body
        if not isinstance(body, dict):
            raise HttpError(400, "We could not parse the JSON body of your request.")
        problem = _request_problem(body)
        if problem is not None:
            raise HttpError(400, problem)
        reply = self._next_reply()
        if reply.status is not None:
            return Response(reply.status, openai_error_body(reply.status, reply.text))
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None if reply.refusal else reply.text,
            "refusal": reply.text if reply.refusal else None,
            "annotations": [],
        }
        completion = {
            "id": f"chatcmpl-fake{next(_ids):012d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"] + "-2024-07-18",  # the API answers with the dated snapshot
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": reply.input_tokens,
                "completion_tokens": reply.output_tokens,
                "total_tokens": reply.input_tokens + reply.output_tokens,
            },
            "service_tier": "default",
            "system_fingerprint": "fp_fake",
        }
        return Response(200, completion, {"x-request-id": f"req_fake{next(_ids):012d}"})


def _request_problem(body: dict[str, Any]) -> str | None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "you must provide a model parameter"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "[] is too short - 'messages'"
    for message in messages:
        if message.get("role") not in ("system", "developer", "user", "assistant", "tool"):
            return f"Invalid value: {message.get('role')!r}. Supported values are: 'system', 'user', ..."
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema") or {}
        name = spec.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", name):
            return "Invalid 'response_format.json_schema.name'"
        if spec.get("strict"):
            problem = _strict_problem(spec.get("schema"), "schema")
            if problem is not None:
                return f"Invalid schema for response_format '{name}': In context={problem}"
    return None


def _strict_problem(schema: Any, where: str) -> str | None:
    if not isinstance(schema, dict):
        return f"{where}: schema must be an object"
    if schema.get("type") == "object":
        if schema.get("additionalProperties") is not False:
            return f"{where}: 'additionalProperties' is required to be supplied and to be false"
        properties = schema.get("properties", {})
        missing = sorted(set(properties) - set(schema.get("required", [])))
        if missing:
            return (
                f"{where}: 'required' is required to be supplied and to be an array including "
                f"every key in properties. Missing {missing}"
            )
        for key, sub in properties.items():
            problem = _strict_problem(sub, f"{where}.{key}")
            if problem is not None:
                return problem
    return None
