"""What both LLM fakes share: the answers a test scripts, given out one per request, in order.

`reply_text(text)` (a malformed answer is just text that is not the expected JSON),
`reply_refusal()` and `reply_error(status)`; a request with nothing scripted gets a 400 from
the fake (not retried by the SDKs), so a test that forgot to script a reply fails at once.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from tests.fakes.server import HttpError


@dataclass(frozen=True, slots=True)
class ScriptedReply:
    text: str = ""
    refusal: bool = False
    status: int | None = None  # an error answer with this status
    input_tokens: int = 850
    output_tokens: int = 60


class ScriptedAnswers:
    """A mixin: the scripting half of an LLM fake. `REFUSAL_TEXT` / `REFUSAL_TOKENS` are how the
    provider words and counts a refusal."""

    REFUSAL_TEXT = ""
    REFUSAL_TOKENS = 5

    def __init__(self) -> None:
        self._replies: deque[ScriptedReply] = deque()
        self._replies_lock = threading.Lock()

    def reply_text(self, text: str, *, input_tokens: int = 850, output_tokens: int = 60) -> None:
        self._push(ScriptedReply(text=text, input_tokens=input_tokens, output_tokens=output_tokens))

    def reply_refusal(self, text: str | None = None) -> None:
        words = self.REFUSAL_TEXT if text is None else text
        self._push(ScriptedReply(text=words, refusal=True, output_tokens=self.REFUSAL_TOKENS))

    def reply_error(self, status: int, message: str = "scripted error") -> None:
        self._push(ScriptedReply(text=message, status=status))

    def _push(self, reply: ScriptedReply) -> None:
        with self._replies_lock:
            self._replies.append(reply)

    def _next_reply(self) -> ScriptedReply:
        with self._replies_lock:
            if not self._replies:
                raise HttpError(400, "fake: no scripted reply for this request")
            return self._replies.popleft()
