"""What the LLM must answer: one JSON object, checked here before any stage trusts it.

The model is asked for JSON only, but a model's text is still untrusted input: it may be
prose, cut off, or a JSON object with a missing field or a value outside the schema. Each
of those is a `MalformedAnswer` whose message says which, so the decision trace can show
it and the veto policy can act on it.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Decision = Literal["approve", "veto"]
Category = Literal["stale_data", "event_timing", "contradiction", "risk", "other", "none"]


class LlmVerdict(BaseModel):
    """The model's verdict on one signal. `confidence` is how sure the model is of its verdict."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decision: Decision
    category: Category
    reason: str = Field(min_length=1, max_length=500)
    confidence: float = Field(ge=0.0, le=1.0)


VERDICT_SCHEMA: dict[str, Any] = LlmVerdict.model_json_schema()


class MalformedAnswer(ValueError):
    """The model's text is not a verdict; the message says why (not JSON, missing field, bad value)."""


# A whole answer wrapped in one fenced block (```json ... ``` or ``` ... ```): models add
# these despite being told not to. Only a fence around the whole answer is unwrapped; JSON
# buried in prose is refused rather than dug out.
_FENCE = re.compile(r"\A```(?:json|JSON)?[ \t]*\n(?P<body>.*?)\n?```\Z", re.DOTALL)


def json_object(text: str) -> dict[str, Any]:
    """The one JSON object that is the whole of `text` (a fence around all of it is unwrapped),
    or `MalformedAnswer` saying why there is none. Every LLM answer parser starts here."""
    stripped = text.strip()
    if not stripped:
        raise MalformedAnswer("the answer is empty")
    fenced = _FENCE.match(stripped)
    if fenced is not None:
        stripped = fenced.group("body").strip()
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as error:
        where = f"{error.msg} at character {error.pos}"
        raise MalformedAnswer(f"the answer is not JSON ({where}): {_excerpt(stripped)}") from None
    if not isinstance(data, dict):
        raise MalformedAnswer(f"the answer is JSON but not an object: {_excerpt(stripped)}")
    return data


def schema_problems(error: ValidationError) -> str:
    """A pydantic validation error as one line: the fields missing, unexpected or out of range."""
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "(answer)"
        if item["type"] == "missing":
            problems.append(f"missing field {field!r}")
        elif item["type"] == "extra_forbidden":
            problems.append(f"unexpected field {field!r}")
        else:
            problems.append(f"bad value for {field!r} ({item['msg']}, got {item.get('input')!r:.80})")
    return "; ".join(problems)


def parse_verdict(text: str) -> LlmVerdict:
    """The verdict in `text`, or `MalformedAnswer` saying what is wrong with it."""
    data = json_object(text)
    try:
        return LlmVerdict.model_validate(data)
    except ValidationError as error:
        raise MalformedAnswer(
            "the answer does not match the verdict schema: " + schema_problems(error)
        ) from None


def _excerpt(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
