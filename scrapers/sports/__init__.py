"""Sports sources: sportsbook odds turned into vig-free probabilities for game-winner contracts."""
