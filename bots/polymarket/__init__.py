"""Polymarket: pairing its markets with Kalshi's on the same question, for cross-venue arbitrage."""
