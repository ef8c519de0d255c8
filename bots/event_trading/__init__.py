"""Event trading: prediction-market bots priced by their domain's sources (consensus, gates, settlement)."""
