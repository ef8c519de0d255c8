"""The LLM side of the Veto stage: a provider-neutral client, the answer's schema, the prompt,
a daily spend budget, a verdict cache, and the stage that ties them together (`LlmVeto`).
The market analyst (`ai.market_analyst`) shares the client, budget, cache and prompt loader,
with its own answer schema (`AnalystView`).

Only `clients.py` knows the Anthropic and OpenAI SDKs; everything else sees `LlmClient`,
`LlmAnswer` and `LlmUnavailable`.
"""

from ai.llm.analyst_view import VIEW_SCHEMA, AnalystView, parse_view
from ai.llm.budget import LlmBudget
from ai.llm.cache import VerdictCache
from ai.llm.clients import AnthropicLlm, LlmAnswer, LlmClient, LlmUnavailable, OpenAILlm
from ai.llm.prompt import PROMPT_VERSION, PromptTemplate, load_template, render
from ai.llm.verdict import VERDICT_SCHEMA, LlmVerdict, MalformedAnswer, parse_verdict
from ai.llm.veto import LlmVeto

__all__ = [
    "PROMPT_VERSION",
    "VERDICT_SCHEMA",
    "VIEW_SCHEMA",
    "AnalystView",
    "AnthropicLlm",
    "LlmAnswer",
    "LlmBudget",
    "LlmClient",
    "LlmUnavailable",
    "LlmVerdict",
    "LlmVeto",
    "MalformedAnswer",
    "OpenAILlm",
    "PromptTemplate",
    "VerdictCache",
    "load_template",
    "parse_verdict",
    "parse_view",
    "render",
]
