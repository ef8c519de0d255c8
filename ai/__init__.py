"""The AI layer: the signal ensemble, the veto, and the sources they draw on."""

# the daemon value (journal key) holding today's LLM veto calls, tokens and cost, for the dashboard
LLM_SPEND_KEY = "llm_spend"
