"""The fleet's Kalshi sub-bots that are not event-trading desks: the longshot fader."""
