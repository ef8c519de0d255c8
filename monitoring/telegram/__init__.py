"""Telegram control and alerts: python-telegram-bot inside the daemon's loop.

`attach_telegram(orchestrator, settings, environ)` is the entry point the wiring calls;
see `service` for the lifecycle, `commands` for what an operator can ask and do,
`alerts` for what they are told, `outbox` for how it is sent.
"""

from monitoring.telegram.service import TelegramService, attach_telegram

__all__ = ["TelegramService", "attach_telegram"]
