"""Secrets from the environment never reach a log line, tracebacks included."""

from __future__ import annotations

import io
import logging

import pytest

from utils.logging_setup import LOG_FORMAT, RedactingFormatter, configure_logging, secret_values


def test_credential_like_variables_are_secrets_and_others_are_not() -> None:
    env = {
        "ALPACA_API_SECRET": "sk-live-123456",
        "KALSHI_PRIVATE_KEY_PEM": "-----BEGIN KEY-----abc",
        "TELEGRAM_BOT_TOKEN": "12345:AAAA-bbbb",
        "HOME": "/root/user-home",
        "ALPACA_API_KEY": "short",  # too short to mask without masking ordinary words
    }
    assert set(secret_values(env)) == {"sk-live-123456", "-----BEGIN KEY-----abc", "12345:AAAA-bbbb"}


def test_a_secret_is_masked_in_messages_and_in_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter(LOG_FORMAT, ["sk-live-123456"]))
    logger = logging.getLogger("test.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("calling https://api.example/v2?key=%s", "sk-live-123456")
        try:
            raise RuntimeError("401 for token sk-live-123456")
        except RuntimeError:
            logger.exception("broker call failed")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "sk-live-123456" not in output
    assert "key=***" in output
    assert "RuntimeError: 401 for token ***" in output


def test_configure_logging_masks_what_the_environment_holds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OANDA_ACCESS_TOKEN", "oanda-token-987654")
    configure_logging("INFO")
    logging.getLogger("test.configured").info("header Authorization: Bearer oanda-token-987654")
    assert "oanda-token-987654" not in capsys.readouterr().err
