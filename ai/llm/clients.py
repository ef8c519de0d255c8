"""The two LLM providers behind one small protocol, over their official async SDKs.

The SDKs own the transport: bounded retries with backoff on 408/409/429/5xx and connection
errors, honouring Retry-After. We configure them (`timeout_seconds` per attempt,
`max_retries`) and write no retry loop of our own. Whatever the SDK raises once its retries
are spent becomes `LlmUnavailable`, so no caller ever handles an SDK type.

The API key is handed to the SDK constructor and kept nowhere else: not on these objects,
not in a message, not in a log line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

import anthropic
import openai

MAX_ANSWER_TOKENS = 400  # a verdict is one short JSON object; this bounds the cost of a rambling answer


@dataclass(frozen=True, slots=True)
class LlmAnswer:
    """What the model said. `refused` is True when the model declined to answer: its text
    (if any) is an explanation, not a verdict."""

    text: str
    input_tokens: int
    output_tokens: int
    model: str
    refused: bool = False


class LlmUnavailable(Exception):
    """No answer: timeout, connection failure, rate limit or server error after the SDK's retries,
    or a request the provider refused (bad key, bad request). `reason` is a sentence for the trace."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LlmClient(Protocol):
    provider: str
    model: str

    async def complete(self, system: str, user: str, schema: dict[str, Any]) -> LlmAnswer:
        """The model's answer to `user` under `system`, asked to follow the JSON `schema`.
        Raises `LlmUnavailable` when no answer came."""
        ...


def _unavailable(provider: str, error: Exception) -> LlmUnavailable:
    """Our exception for an SDK one. Both SDKs are generated from one template, so their
    exception classes line up; `module` is the SDK that raised."""
    module: Any = anthropic if isinstance(error, anthropic.AnthropicError) else openai
    if isinstance(error, module.APITimeoutError):
        return LlmUnavailable(f"{provider} timed out")
    if isinstance(error, module.APIConnectionError):
        return LlmUnavailable(f"{provider} connection failed: {error}")
    if isinstance(error, module.RateLimitError):
        return LlmUnavailable(f"{provider} rate limit (429) still hit after retries: {_message(error)}")
    if isinstance(error, module.APIStatusError):
        kind = "server error" if error.status_code >= 500 else "refused the request"
        return LlmUnavailable(f"{provider} {kind} ({error.status_code}): {_message(error)}")
    return LlmUnavailable(f"{provider} call failed: {type(error).__name__}: {error}")


def _message(error: Any) -> str:
    """The provider's own error message out of its error body, else the SDK's text."""
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return str(error)


class AnthropicLlm:
    """Claude over the Messages API. The schema goes in the prompt (the rendered user part
    carries it); the answer is the text of the response's text blocks."""

    provider = "anthropic"

    def __init__(
        self,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout_seconds: float = 20.0,
        max_retries: int = 2,
    ) -> None:
        self.model = model
        self._client = anthropic.AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout_seconds, max_retries=max_retries
        )

    async def complete(self, system: str, user: str, schema: dict[str, Any]) -> LlmAnswer:
        try:
            message = await self._client.messages.create(
                model=self.model,
                max_tokens=MAX_ANSWER_TOKENS,
                system=system,
                messages=[{"role": "user", "content": user}],
            )
        except anthropic.AnthropicError as error:
            raise _unavailable(self.provider, error) from error
        text = "".join(block.text for block in message.content if block.type == "text")
        return LlmAnswer(
            text=text,
            input_tokens=message.usage.input_tokens,
            output_tokens=message.usage.output_tokens,
            model=message.model,
            refused=message.stop_reason == "refusal",
        )

    async def close(self) -> None:
        await self._client.close()


def schema_name(schema: dict[str, Any]) -> str:
    """The answer's name for OpenAI's json_schema format, from the schema's title:
    `LlmVerdict` -> `llm_verdict`, `AnalystView` -> `analyst_view`."""
    title = str(schema.get("title") or "answer")
    return re.sub(r"(?<!^)(?=[A-Z])", "_", re.sub(r"[^A-Za-z0-9]", "", title)).lower() or "answer"


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` cut to what OpenAI's strict structured outputs accept: every object closed
    (`additionalProperties: false`) with every property required, and no string length
    bounds (not in the strict subset). `parse_verdict` still enforces the full schema."""
    dropped = {"minLength", "maxLength", "title", "description", "default"}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in dropped:
            continue
        if key == "properties" and isinstance(value, dict):
            out[key] = {name: strict_schema(sub) for name, sub in value.items()}
        elif isinstance(value, dict):
            out[key] = strict_schema(value)
        else:
            out[key] = value
    if out.get("type") == "object":
        out["additionalProperties"] = False
        out["required"] = list(out.get("properties", {}))
    return out


class OpenAILlm:
    """GPT over Chat Completions with strict structured outputs (`response_format` json_schema)."""

    provider = "openai"

    def __init__(
        self,
        api_key: str,
        model: str,
        base_url: str | None = None,
        timeout_seconds: float = 20.0,
        max_retries: int = 2,
    ) -> None:
        self.model = model
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_seconds, max_retries=max_retries
        )

    async def complete(self, system: str, user: str, schema: dict[str, Any]) -> LlmAnswer:
        try:
            completion = await self._client.chat.completions.create(
                model=self.model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                response_format={
                    "type": "json_schema",
                    "json_schema": {
                        "name": schema_name(schema),
                        "schema": strict_schema(schema),
                        "strict": True,
                    },
                },
                max_completion_tokens=MAX_ANSWER_TOKENS,
            )
        except openai.OpenAIError as error:
            raise _unavailable(self.provider, error) from error
        if not completion.choices:
            raise LlmUnavailable(f"{self.provider} answered with no choices")
        message = completion.choices[0].message
        usage = completion.usage
        return LlmAnswer(
            text=message.refusal if message.refusal is not None else (message.content or ""),
            input_tokens=usage.prompt_tokens if usage is not None else 0,
            output_tokens=usage.completion_tokens if usage is not None else 0,
            model=completion.model,
            refused=message.refusal is not None,
        )

    async def close(self) -> None:
        await self._client.close()
