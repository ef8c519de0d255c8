"""Aggressive crypto scalpers: fast rules on 1-minute bars, ticked every 10 seconds to a minute."""
