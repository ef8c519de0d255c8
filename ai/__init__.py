"""The AI layer: the signal ensemble, the veto, and the sources they draw on."""

# the daemon value (journal key) holding today's LLM veto calls, tokens and cost, for the dashboard
LLM_SPEND_KEY = "llm_spend"
# the daemon value holding the news aggregator's state (scorer in use, each feed's health)
NEWS_STATUS_KEY = "news_status"
