"""The operator dashboard: a Flask app served from a thread of the daemon (or alone, read-only)."""
