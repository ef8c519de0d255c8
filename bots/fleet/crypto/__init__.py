"""The fleet's crypto sub-bots: per-instrument rules the fleet runs as one book (see bots.fleet)."""
