"""FakeTelegram: the Telegram Bot API on a local FakeVenueServer, for python-telegram-bot over real HTTP.

It answers `POST` (or `GET`) `/bot<token>/<method>` with the Bot API's JSON shapes,
`{"ok": true, "result": ...}`, for the methods the daemon uses: getMe, getUpdates
(long polling: it holds the request until an update is queued or `timeout` seconds
pass, and treats `offset` as the confirmation of every earlier update), sendMessage,
editMessageText, answerCallbackQuery, deleteWebhook, setMyCommands, getMyCommands
and close. Parameters arrive as python-telegram-bot sends them (a form whose
non-string values are JSON) or as a JSON body.

As Telegram does, it answers a wrong token with 401
`{"ok": false, "error_code": 401, "description": "Unauthorized"}`, an unknown method
with 404, and refuses (400 "Bad Request: ...") a message whose HTML Telegram could
not parse (an unescaped `<` or `&`, an unknown or unbalanced tag), an empty or
over-long text, and a button whose callback data is over 64 bytes.

Tests play the user with `enqueue_message(chat_id, "/pause buyer")` and
`enqueue_callback(chat_id, data, message_id)`, and read what the bot said with
`messages_to(chat_id)` or, on the test's own event loop, `await wait_for_messages(...)`.
Faults (500s, delays, drops) come from `FakeVenueServer.inject`.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.server import FakeVenueServer, Fault, HttpError, Request

TOKEN = "123456789:AAFakeTelegramBotToken-0123456789abcd"
BOT_USER = {
    "id": 123456789,
    "is_bot": True,
    "first_name": "Trader",
    "username": "trader_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
_ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "tg-emoji", "code", "pre", "blockquote",
}  # fmt: skip
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
# the parameters python-telegram-bot sends JSON-encoded inside its form
_JSON_PARAMETERS = {
    "reply_markup", "allowed_updates", "commands", "entities", "link_preview_options", "scope",
    "offset", "limit", "timeout", "chat_id", "message_id", "show_alert", "drop_pending_updates",
}  # fmt: skip


def telegram_error_body(status: int, reason: str) -> dict[str, Any]:
    return {"ok": False, "error_code": status, "description": reason}


def html_problem(text: str) -> str | None:
    """Why Telegram would refuse `text` with parse_mode HTML, or None when it parses."""
    stack: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "<":
            tag = _TAG.match(text, position)
            if tag is None:
                return f"Unexpected end of name token at byte offset {position}"
            closing, name = tag.group(1) == "/", tag.group(2).lower()
            if name not in _ALLOWED_TAGS:
                return f'Unsupported start tag "{name}" at byte offset {position}'
            if closing:
                if not stack or stack[-1] != name:
                    expected = stack[-1] if stack else ""
                    return f'Unmatched end tag at byte offset {position}, expected "</{expected}>"'
                stack.pop()
            else:
                stack.append(name)
            position = tag.end()
        elif char == "&":
            entity = _ENTITY.match(text, position)
            if entity is None:
                return f"Unsupported HTML entity at byte offset {position}"
            position = entity.end()
        else:
            position += 1
    if stack:
        return f'Can\'t find end tag corresponding to start tag "{stack[-1]}"'
    return None


def visible_text(text: str) -> str:
    """What the chat shows for an HTML message: tags removed, entities resolved."""
    return html.unescape(_TAG.sub("", text))


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message the bot sent (or edited: `edited` True), as the fake received it."""

    message_id: int
    chat_id: int
    text: str  # as sent, HTML included
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    edited: bool = False
    at: float = field(default_factory=time.monotonic)

    @property
    def visible(self) -> str:
        return visible_text(self.text) if self.parse_mode == "HTML" else self.text

    @property
    def buttons(self) -> list[dict[str, Any]]:
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


class FakeTelegram:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.server = FakeVenueServer("telegram", error_body=telegram_error_body)
        self._lock = threading.Condition()
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1000
        self._next_message_id = 1
        self._closing = False
        self.sent: list[SentMessage] = []  # sendMessage and editMessageText, in order
        self.answered_callbacks: list[str] = []
        self.commands: list[dict[str, Any]] = []
        self.webhook_deletions = 0
        route = self.server.route
        for method in ("POST", "GET"):
            route(method, r"/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)")(self._serve)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> FakeTelegram:
        self._closing = False
        self.server.clear_faults()
        self.server.start()  # a long poll whose client went away ends quietly (FakeVenueServer)
        return self

    def stop(self) -> None:
        """Vanish: no new connections, and a client's kept-alive connection is closed on its next
        request without an answer (the threaded server would otherwise go on serving it)."""
        self.server.inject(Fault(status=503, drop=True, times=10**9, reason="stopped"))
        with self._lock:
            self._closing = True
            self._lock.notify_all()  # release long polls at once
        self.server.stop()

    @property
    def url(self) -> str:
        return self.server.url

    # ------------------------------------------------------------------ playing the user
    def enqueue_message(self, chat_id: int, text: str, *, user_id: int | None = None) -> int:
        """A user in `chat_id` writes `text` (a leading /command is marked as Telegram marks it)."""
        message: dict[str, Any] = {
            "message_id": self._message_id(),
            "date": int(time.time()),
            "chat": _chat(chat_id),
            "from": _user(user_id or abs(chat_id)),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._enqueue({"message": message})

    def enqueue_callback(
        self, chat_id: int, data: str, message_id: int, *, user_id: int | None = None
    ) -> int:
        """A user in `chat_id` presses a button carrying `data` under the bot's message `message_id`."""
        original = next(
            (m for m in reversed(self.sent) if m.chat_id == chat_id and m.message_id == message_id), None
        )
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": _chat(chat_id),
            "from": BOT_USER,
            "text": original.visible if original is not None else "",
        }
        if original is not None and original.reply_markup:
            message["reply_markup"] = original.reply_markup
        query = {
            "id": f"cbq-{self._next_update_id}",
            "from": _user(user_id or abs(chat_id)),
            "chat_instance": f"instance-{chat_id}",
            "data": data,
            "message": message,
        }
        return self._enqueue({"callback_query": query})

    def _enqueue(self, content: dict[str, Any]) -> int:
        with self._lock:
            update_id = self._next_update_id
            self._next_update_id += 1
            self._updates.append({"update_id": update_id, **content})
            self._lock.notify_all()
        return update_id

    def _message_id(self) -> int:
        with self._lock:
            message_id = self._next_message_id
            self._next_message_id += 1
        return message_id

    # ------------------------------------------------------------------ reading what the bot did
    def messages_to(self, chat_id: int, *, include_edits: bool = False) -> list[SentMessage]:
        with self._lock:
            return [m for m in self.sent if m.chat_id == chat_id and (include_edits or not m.edited)]

    def calls(self, method: str) -> list[Request]:
        return self.server.requests_to("POST", f"/{method}") + self.server.requests_to("GET", f"/{method}")

    @property
    def pending_updates(self) -> int:
        with self._lock:
            return len(self._updates)

    async def wait_for_messages(
        self, chat_id: int, count: int, *, within: float = 10.0, include_edits: bool = False
    ) -> list[SentMessage]:
        """At least `count` messages to `chat_id`, waiting on the caller's loop (the bot under test
        runs on it) up to `within` seconds; fails the test when they do not come."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            found = self.messages_to(chat_id, include_edits=include_edits)
            if len(found) >= count:
                return found
            if loop.time() > deadline:
                raise AssertionError(f"chat {chat_id} got {len(found)} message(s), expected {count}: {found}")
            await asyncio.sleep(0.02)

    async def reply_to(
        self, chat_id: int, text: str, *, starting: str = "", within: float = 10.0
    ) -> SentMessage:
        """Send `text` from `chat_id` and return the bot's first message after it whose visible
        text starts with `starting` (alerts may arrive in between)."""
        before = len(self.messages_to(chat_id))
        self.enqueue_message(chat_id, text)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            for message in self.messages_to(chat_id)[before:]:
                if message.visible.startswith(starting):
                    return message
            if loop.time() > deadline:
                raise AssertionError(
                    f"no reply to {text!r} starting {starting!r} in chat {chat_id}: "
                    f"{[m.visible for m in self.messages_to(chat_id)[before:]]}"
                )
            await asyncio.sleep(0.02)

    # ------------------------------------------------------------------ the Bot API
    def _serve(self, request: Request, match: re.Match[str]) -> dict[str, Any]:
        if match.group("token") != self.token:
            raise HttpError(401, "Unauthorized")
        method = match.group("method")
        params = _parameters(request)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            raise HttpError(404, "Not Found")
        return {"ok": True, "result": handler(params)}

    def _api_getMe(self, params: dict[str, Any]) -> Any:
        return BOT_USER

    def _api_deleteWebhook(self, params: dict[str, Any]) -> Any:
        with self._lock:
            self.webhook_deletions += 1
            if params.get("drop_pending_updates"):
                self._updates.clear()
        return True

    def _api_close(self, params: dict[str, Any]) -> Any:
        return True

    def _api_setMyCommands(self, params: dict[str, Any]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list) or not commands:
            raise HttpError(400, "Bad Request: commands must be a non-empty list")
        for command in commands:
            name = str(command.get("command", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name) or not command.get("description"):
                raise HttpError(400, "Bad Request: BOT_COMMAND_INVALID")
        self.commands = commands
        return True

    def _api_getMyCommands(self, params: dict[str, Any]) -> Any:
        return self.commands

    def _api_getUpdates(self, params: dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 30.0)
        with self._lock:
            if offset:
                # an offset confirms every update before it: Telegram forgets them
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            return [dict(u) for u in self._updates[:limit]]

    def _api_sendMessage(self, params: dict[str, Any]) -> Any:
        chat_id = _chat_id(params)
        text = self._checked_text(params)
        markup = self._checked_markup(params)
        message = SentMessage(self._message_id(), chat_id, text, params.get("parse_mode"), markup)
        with self._lock:
            self.sent.append(message)
        return self._message_json(message)

    def _api_editMessageText(self, params: dict[str, Any]) -> Any:
        chat_id = _chat_id(params)
        message_id = int(params.get("message_id") or 0)
        with self._lock:
            known = any(m.chat_id == chat_id and m.message_id == message_id for m in self.sent)
        if not known:
            raise HttpError(400, "Bad Request: message to edit not found")
        text = self._checked_text(params)
        markup = self._checked_markup(params)
        message = SentMessage(message_id, chat_id, text, params.get("parse_mode"), markup, edited=True)
        with self._lock:
            self.sent.append(message)
        return self._message_json(message)

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        if not query_id:
            raise HttpError(
                400, "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        with self._lock:
            self.answered_callbacks.append(query_id)
        return True

    def _checked_text(self, params: dict[str, Any]) -> str:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise HttpError(400, "Bad Request: message text is empty")
        if params.get("parse_mode") == "HTML":
            problem = html_problem(text)
            if problem is not None:
                raise HttpError(400, f"Bad Request: can't parse entities: {problem}")
            shown = visible_text(text)
        else:
            shown = text
        if len(shown) > MAX_TEXT:
            raise HttpError(400, "Bad Request: message is too long")
        return text

    def _checked_markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise HttpError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and len(str(data).encode()) > MAX_CALLBACK_DATA:
                    raise HttpError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def _message_json(self, message: SentMessage) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": _chat(message.chat_id),
            "from": BOT_USER,
            "text": message.visible,
        }
        if message.edited:
            body["edit_date"] = int(time.time())
        if message.reply_markup is not None:
            body["reply_markup"] = message.reply_markup
        return body


def _parameters(request: Request) -> dict[str, Any]:
    raw: dict[str, Any] = dict(request.query)
    if isinstance(request.body, dict):
        raw.update(request.body)
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str) and key in _JSON_PARAMETERS:
            try:
                params[key] = json.loads(value)
                continue
            except ValueError:
                pass
        params[key] = value
    return params


def _chat_id(params: dict[str, Any]) -> int:
    try:
        return int(params.get("chat_id") or "")
    except ValueError:
        raise HttpError(400, "Bad Request: chat not found") from None


def _chat(chat_id: int) -> dict[str, Any]:
    if chat_id < 0:
        return {"id": chat_id, "type": "group", "title": f"group {chat_id}"}
    return {"id": chat_id, "type": "private", "first_name": f"user{chat_id}"}


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": f"user{user_id}", "language_code": "en"}
