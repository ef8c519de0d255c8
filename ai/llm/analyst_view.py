"""What the market analyst must answer: one JSON object with a directional view of a market.

Parsed with the same tolerance as the veto's verdict (`ai.llm.verdict.json_object`): one JSON
object, possibly wrapped whole in a ```json fence; anything else is a `MalformedAnswer`
saying what is wrong, and the analyst abstains rather than guess.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ai.llm.verdict import MalformedAnswer, json_object, schema_problems

Direction = Literal["up", "down", "neutral"]
Horizon = Literal["hours", "days", "weeks"]
DataQuality = Literal["ok", "stale", "insufficient"]


class AnalystView(BaseModel):
    """The model's view of one market. `strength` is how far it expects the move to go, on a
    0-1 scale; `confidence` how sure it is of the view; `data_quality` its judgement of the
    evidence it was given (anything but "ok" and the view is not acted on)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    direction: Direction
    strength: float = Field(ge=0.0, le=1.0)
    confidence: float = Field(ge=0.0, le=1.0)
    horizon: Horizon
    reason: str = Field(min_length=1, max_length=500)
    data_quality: DataQuality

    @property
    def signed_strength(self) -> float:
        """The view as a vote in [-1, 1]: +strength up, -strength down, 0 neutral."""
        if self.direction == "up":
            return self.strength
        if self.direction == "down":
            return -self.strength
        return 0.0


VIEW_SCHEMA: dict[str, Any] = AnalystView.model_json_schema()


def parse_view(text: str) -> AnalystView:
    """The view in `text`, or `MalformedAnswer` saying what is wrong with it."""
    data = json_object(text)
    try:
        return AnalystView.model_validate(data)
    except ValidationError as error:
        raise MalformedAnswer(
            "the answer does not match the view schema: " + schema_problems(error)
        ) from None
