"""TelegramService: python-telegram-bot's Application inside the daemon's own event loop.

`attach_telegram` is the one entry point. With Telegram disabled or no token it
logs one line and returns None: nothing is built, nothing contacts Telegram. Otherwise
it subscribes the alerts to the EventBus, and hooks the service to the orchestrator's
lifecycle: `start` (an `on_start` hook, awaited at the end of the daemon's start)
only launches background tasks, so a Telegram that is slow, down or refusing the
token never delays or fails the daemon; a connector task keeps trying with backoff
until the Bot API answers (`initialize`, `start`, `start_polling`), then the outbox's
senders go. `shutdown_hook` (an `on_shutdown` hook) stops commands at once and
schedules the asynchronous teardown on the loop (`stop`).

The token is part of every Bot API URL (`<base>/bot<token>/<method>`), so it would
leak through httpx's request log and python-telegram-bot's debug lines: httpx is
silenced and every line of those libraries (and ours) passes a filter that masks it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Iterable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram import BotCommand, Update
from telegram.error import InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes
from telegram.request import HTTPXRequest

from config.loader import ConfigError
from config.schema import Settings
from monitoring.log_buffer import LogBuffer
from monitoring.telegram.access import AllowList, AllowListError, allow_list
from monitoring.telegram.alerts import Alerts
from monitoring.telegram.commands import Commands
from monitoring.telegram.outbox import Outbox
from monitoring.telegram.views import COMMANDS
from storage.reports import Reports
from utils.logging_setup import secret_values

if TYPE_CHECKING:
    from master_orchestrator import Orchestrator

log = logging.getLogger("monitoring.telegram")

DEFAULT_BASE_URL = "https://api.telegram.org"
CONNECT_BACKOFF_SECONDS = (2.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0)
# loggers whose lines may carry the token (URLs, the Bot's debug lines, exceptions)
TOKEN_BEARING_LOGGERS = ("telegram", "httpx", "httpcore", "monitoring.telegram")

AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class Redactor(logging.Filter):
    """Masks secrets in text and, as a logging filter, in log records (message and traceback)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not fit its format: leave it to the handler
            return True
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            if self.mask(text) != text:
                record.exc_text = self.mask(text)
        return True

    def install(self) -> list[logging.Logger]:
        """Filter every existing logger of the token-bearing libraries; return them for `uninstall`."""
        names = {
            name
            for name in logging.Logger.manager.loggerDict
            if any(name == root or name.startswith(root + ".") for root in TOKEN_BEARING_LOGGERS)
        } | set(TOKEN_BEARING_LOGGERS)
        loggers = [logging.getLogger(name) for name in sorted(names)]
        for logger in loggers:
            if self not in logger.filters:
                logger.addFilter(self)
        return loggers


class TelegramService:
    """Commands in, alerts out, on the orchestrator's loop; see the module docstring."""

    def __init__(
        self,
        orchestrator: Orchestrator,
        settings: Settings,
        token: str,
        access: AllowList,
        secrets: Iterable[str] = (),
        *,
        poll_timeout_seconds: float = 10.0,
        request_timeout_seconds: float = 10.0,
    ) -> None:
        telegram = settings.telegram
        self._token = token
        self._base_url = (telegram.base_url or DEFAULT_BASE_URL).rstrip("/")
        self._poll_timeout = poll_timeout_seconds
        self._request_timeout = request_timeout_seconds
        self.access = access
        self.redactor = Redactor([token, *secrets])
        self._filtered: list[logging.Logger] = []
        self.log_buffer = LogBuffer([token, *secrets])
        self.outbox = Outbox(
            access.ordered(),
            telegram.messages_per_second,
            redact=self.redactor.mask,
            send_timeout_seconds=request_timeout_seconds + 5.0,
        )
        reports = Reports(settings.system.database)
        self.alerts = Alerts(
            self.outbox,
            orchestrator.scheduler,
            orchestrator.clock,
            batch_seconds=telegram.alert_batch_seconds,
            reports=reports,
            control=orchestrator.control,
            timezone=settings.system.timezone,
            summary_time=telegram.daily_summary_time,
        )
        self.commands = Commands(orchestrator, reports, self.outbox, access, self.log_buffer, self.describe)
        self._unsubscribe = orchestrator.bus.subscribe(self.alerts.on_event)
        self._app: AnyApplication | None = None
        self._connector: asyncio.Task[None] | None = None
        self._stopping: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.state = "attached"  # attached → connecting → running | refused → stopped
        self.polling_errors = 0
        self._last_polling_warning = -1e9
        self._silence_libraries()
        self.log_buffer.attach()

    def describe(self, exc: BaseException) -> str:
        return self.redactor.mask(f"{type(exc).__name__}: {exc}")

    # ==========================================================================================
    # Lifecycle
    # ==========================================================================================
    async def start(self) -> None:
        """The orchestrator's `on_start` hook: launch, never wait on Telegram."""
        if self.state != "attached":
            return
        self.state = "connecting"
        self.alerts.bind(asyncio.get_running_loop())
        self.alerts.schedule_daily_summary()
        self.outbox.start()
        self._connector = asyncio.create_task(self._connect(), name="telegram-connect")

    async def wait_ready(self, seconds: float) -> bool:
        """True once polling runs (tests, and a status page that wants to say so)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), seconds)
        return self._ready.is_set()

    def shutdown_hook(self) -> Awaitable[None] | None:
        """The orchestrator's `on_shutdown` hook (synchronous, on the loop, before the journal
        closes): refuse commands now, flush the alert batch, schedule `stop` on the loop.

        Returns the scheduled task, so an orchestrator that awaits awaitable hooks waits for a
        clean teardown; one that does not lets it run as long as the loop does."""
        self.commands.accepting = False
        self._detach_from_bus()
        if self._stopping is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return None
            self._stopping = loop.create_task(self._stop(3.0), name="telegram-stop")
        return self._stopping

    async def stop(self, drain_seconds: float = 3.0) -> None:
        """Stop taking commands and events, give queued alerts `drain_seconds` to leave, close.
        Safe to call more than once, and beside `shutdown_hook`: one teardown runs."""
        if self._stopping is None:
            self._stopping = asyncio.get_running_loop().create_task(self._stop(drain_seconds))
        await asyncio.shield(self._stopping)

    async def _stop(self, drain_seconds: float) -> None:
        self.commands.accepting = False
        self._detach_from_bus()
        if self._connector is not None and not self._connector.done():
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connector
        if not await self.outbox.drain(drain_seconds):
            log.warning("telegram: %d alert(s) not delivered at shutdown", self.outbox.pending())
        await self.outbox.close()
        if self._app is not None:
            await self._tear_down(self._app)
            self._app = None
        self.log_buffer.detach()
        for logger in self._filtered:
            logger.removeFilter(self.redactor)
        self.state = "stopped"
        log.info(
            "telegram: stopped (%d sent, %d failed attempts, %d dropped)",
            self.outbox.sent,
            self.outbox.failures,
            self.outbox.dropped,
        )

    def _detach_from_bus(self) -> None:
        self.alerts.close()  # what the batch holds goes to the outbox first
        with contextlib.suppress(ValueError):  # already unsubscribed
            self._unsubscribe()

    # ==========================================================================================
    # Connecting
    # ==========================================================================================
    async def _connect(self) -> None:
        attempt = 0
        while True:
            app = self._build_application()
            try:
                await self._bring_up(app)
            except InvalidToken:
                self.state = "refused"
                log.error(
                    "telegram: the Bot API refused the token (Unauthorized); Telegram stays off until "
                    "the token is fixed and the daemon restarted"
                )
                await self._tear_down(app)
                return
            except Exception as exc:
                delay = CONNECT_BACKOFF_SECONDS[min(attempt, len(CONNECT_BACKOFF_SECONDS) - 1)]
                attempt += 1
                log.warning(
                    "telegram: Bot API not reachable (%s); trying again in %.0f s", self.describe(exc), delay
                )
                await self._tear_down(app)
                await asyncio.sleep(delay)
                continue
            self._app = app
            self.outbox.connect(app.bot)
            self.state = "running"
            self._ready.set()
            log.info("telegram: connected as @%s, polling for commands", app.bot.username)
            return

    def _build_application(self) -> AnyApplication:
        timeout = self._request_timeout

        def request(pool: int) -> HTTPXRequest:
            return HTTPXRequest(
                connection_pool_size=pool,
                connect_timeout=timeout,
                read_timeout=timeout,  # getUpdates adds its long-poll timeout to this itself
                write_timeout=timeout,
                pool_timeout=timeout,
            )

        app: AnyApplication = (
            ApplicationBuilder()
            .token(self._token)
            .base_url(f"{self._base_url}/bot")
            .base_file_url(f"{self._base_url}/file/bot")
            .request(request(8))
            .get_updates_request(request(2))
            .job_queue(None)  # our scheduler runs the jobs; no second scheduler in the process
            .concurrent_updates(False)  # commands are handled one at a time, in order
            .build()
        )
        self.commands.register(app)
        app.add_error_handler(self._on_handler_error)
        self._filtered = self.redactor.install()  # the new Bot's loggers too
        return app

    async def _bring_up(self, app: AnyApplication) -> None:
        limit = self._request_timeout + 5.0
        await asyncio.wait_for(app.initialize(), limit)  # getMe: the token is checked here
        try:
            menu = [BotCommand(c.name, c.description) for c in COMMANDS]
            await asyncio.wait_for(app.bot.set_my_commands(menu), limit)
        except (TelegramError, TimeoutError) as exc:  # a missing menu is no reason to stay deaf
            log.info("telegram: command menu not set: %s", self.describe(exc))
        await app.start()
        updater = app.updater
        assert updater is not None, "the Application was built without an Updater"
        await asyncio.wait_for(
            updater.start_polling(
                timeout=timedelta(seconds=self._poll_timeout),
                # commands sent while the daemon was down are stale: a /halt or /close from hours
                # ago must not fire on start
                drop_pending_updates=True,
                allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY],
                error_callback=self._on_polling_error,
            ),
            limit,
        )

    async def _tear_down(self, app: AnyApplication) -> None:
        limit = self._request_timeout + 5.0
        updater = app.updater
        steps: list[tuple[str, Any]] = []
        if updater is not None and updater.running:
            steps.append(("updater", updater.stop))
        if app.running:
            steps.append(("application", app.stop))
        steps.append(("shutdown", app.shutdown))
        for name, step in steps:
            try:
                await asyncio.wait_for(step(), limit)
            except Exception as exc:
                log.info("telegram: %s did not stop cleanly: %s", name, self.describe(exc))

    # ==========================================================================================
    # Errors inside python-telegram-bot
    # ==========================================================================================
    def _on_polling_error(self, exc: TelegramError) -> None:
        """getUpdates failed; python-telegram-bot retries with its own backoff. One warning a
        minute is enough for an outage."""
        self.polling_errors += 1
        now = asyncio.get_running_loop().time()
        if now - self._last_polling_warning >= 60.0:
            self._last_polling_warning = now
            log.warning("telegram: polling for commands failed (%s); retrying", self.describe(exc))

    async def _on_handler_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        described = self.describe(error) if error is not None else "unknown error"
        log.error("telegram: handling an update failed: %s", described)

    def _silence_libraries(self) -> None:
        # httpx logs every request URL, token included, at INFO
        for name in ("httpx", "httpcore"):
            logger = logging.getLogger(name)
            if logger.level == logging.NOTSET:
                logger.setLevel(logging.WARNING)
        self._filtered = self.redactor.install()


def attach_telegram(
    orchestrator: Orchestrator,
    settings: Settings,
    environ: Mapping[str, str] | None = None,
    *,
    poll_timeout_seconds: float = 10.0,
    request_timeout_seconds: float = 10.0,
) -> TelegramService | None:
    """Telegram control and alerts for this daemon, or None (one log line) when off.

    Raises `ConfigError` when the allowed chat ids in the environment cannot be read.
    """
    telegram = settings.telegram
    env: Mapping[str, str] = os.environ if environ is None else environ
    if not telegram.enabled:
        log.info("telegram: off (telegram.enabled = false)")
        return None
    token = env.get(telegram.token_env, "").strip()
    if not token:
        log.info("telegram: off (no bot token in %s)", telegram.token_env)
        return None
    try:
        access = allow_list(telegram, env)
    except AllowListError as exc:
        raise ConfigError("environment", exc.source, exc.problem) from None
    if not len(access):
        log.warning(
            "telegram: no chat is allowed (telegram.allowed_chat_ids, %s): the bot answers no one and "
            "sends no alerts; write to it once and its log line names your chat id",
            telegram.allowed_chat_ids_env,
        )
    service = TelegramService(
        orchestrator,
        settings,
        token,
        access,
        secret_values(dict(env)),
        poll_timeout_seconds=poll_timeout_seconds,
        request_timeout_seconds=request_timeout_seconds,
    )
    orchestrator.on_start.append(service.start)
    orchestrator.on_shutdown.append(service.shutdown_hook)
    log.info(
        "telegram: on for %d chat(s); fills batched over %g s; daily summary at %s %s",
        len(access),
        telegram.alert_batch_seconds,
        telegram.daily_summary_time,
        settings.system.timezone,
    )
    return service
