"""The LLM side of the Veto stage: a provider-neutral client, the answer's schema, the prompt,
a daily spend budget, a verdict cache, and the stage that ties them together (`LlmVeto`).

Only `clients.py` knows the Anthropic and OpenAI SDKs; everything else sees `LlmClient`,
`LlmAnswer` and `LlmUnavailable`.
"""

from ai.llm.budget import LlmBudget
from ai.llm.cache import VerdictCache
from ai.llm.clients import AnthropicLlm, LlmAnswer, LlmClient, LlmUnavailable, OpenAILlm
from ai.llm.prompt import PROMPT_VERSION, render
from ai.llm.verdict import VERDICT_SCHEMA, LlmVerdict, MalformedAnswer, parse_verdict
from ai.llm.veto import LlmVeto

__all__ = [
    "PROMPT_VERSION",
    "VERDICT_SCHEMA",
    "AnthropicLlm",
    "LlmAnswer",
    "LlmBudget",
    "LlmClient",
    "LlmUnavailable",
    "LlmVerdict",
    "LlmVeto",
    "MalformedAnswer",
    "OpenAILlm",
    "VerdictCache",
    "parse_verdict",
    "render",
]
