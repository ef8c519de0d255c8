"""Logging set-up with secret redaction.

Any environment value whose name looks like a credential is masked in every
log line, so a stack trace that echoes a URL or header cannot leak a key.
"""

from __future__ import annotations

import logging
import os
import re

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
_SECRET_NAME = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|PASSPHRASE|PRIVATE)", re.IGNORECASE)


def secret_values(environ: dict[str, str] | None = None) -> list[str]:
    env = os.environ if environ is None else environ
    return sorted(
        {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= 6}, key=len, reverse=True
    )


class RedactingFormatter(logging.Formatter):
    """Masks secret values in the finished line, tracebacks included (a filter sees only the
    message; an exception's text is added later, by the formatter)."""

    def __init__(self, fmt: str, secrets: list[str]) -> None:
        super().__init__(fmt)
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        for secret in self._secrets:
            line = line.replace(secret, "***")
        return line


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter(LOG_FORMAT, secret_values()))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # storage.database logs the migration itself
    # oandapyV20 logs every 4xx (our expected 404 client-id lookups too) at ERROR and every URL at
    # INFO; the adapter reports venue errors itself, in the broker's health and as rejections
    logging.getLogger("oandapyV20").setLevel(logging.CRITICAL)
