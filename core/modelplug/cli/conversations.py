"""The log of prompts and answers: a SQLite database of conversations in the user data dir.

Every ``modelplug run`` and every turn of ``modelplug chat`` is one *response* row, in one
*conversation* (a new one unless ``-c`` / ``--cid`` continues one). The database is
``<data dir>/logs.db``; the data dir is ``$MODELPLUG_DATA_DIR`` when set, else the platform's user
data dir (platformdirs: ``~/.local/share/modelplug`` on Linux). Logging is on unless the file
``<data dir>/logs-off`` exists (``modelplug logs off`` creates it, ``logs on`` removes it).

Concurrent writers lose nothing: the database runs in WAL mode, every write is one ``BEGIN
IMMEDIATE`` transaction, and a writer waits up to :data:`BUSY_TIMEOUT_S` for another's lock.
Secrets never reach the file: every string written goes through :func:`modelplug.secrets.redact`
(registered secrets and key-shaped strings become ``***``) and secret model options are replaced
by ``"***"``. The table layout is documented in ``docs/cli.md``.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import attrs

from modelplug.errors import ModelplugError
from modelplug.secrets import redact_mapping, redact_value
from modelplug.types import ChatMessage
from modelplug.wire import message_to_wire, usage_to_wire

__all__ = [
    "BUSY_TIMEOUT_S",
    "ENV_DATA_DIR",
    "ConversationError",
    "LogEntry",
    "LogStore",
    "LogStoreError",
    "data_dir",
    "history_messages",
    "logging_enabled",
    "logs_path",
    "new_id",
    "resolve_conversation",
    "set_logging",
]

#: Environment variable overriding the user data dir (tests point it at a temporary folder).
ENV_DATA_DIR: Final = "MODELPLUG_DATA_DIR"
#: Seconds a writer waits for another process's lock before failing.
BUSY_TIMEOUT_S: Final = 30.0
_OFF_MARKER: Final = "logs-off"

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    created_utc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS responses (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    datetime_utc TEXT NOT NULL,
    model TEXT NOT NULL,
    answered_by TEXT,
    system TEXT,
    prompt TEXT NOT NULL,
    response TEXT,
    reasoning TEXT,
    tool_calls TEXT,
    options TEXT NOT NULL,
    model_options TEXT NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    usage TEXT,
    finish_reason TEXT,
    outcome TEXT NOT NULL,
    error TEXT,
    ttft_s REAL,
    duration_s REAL
);
CREATE INDEX IF NOT EXISTS responses_by_conversation ON responses (conversation_id, seq);
"""


def data_dir() -> Path:
    """``$MODELPLUG_DATA_DIR``, else platformdirs' user data dir for ``modelplug`` (not created here)."""
    override = os.environ.get(ENV_DATA_DIR, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return platformdirs.user_data_path("modelplug")


def logs_path() -> Path:
    """The log database: ``<data dir>/logs.db``."""
    return data_dir() / "logs.db"


def logging_enabled() -> bool:
    """Whether prompts and answers are logged (no ``<data dir>/logs-off`` file)."""
    return not (data_dir() / _OFF_MARKER).exists()


def set_logging(enabled: bool) -> None:
    """Turn logging on (remove the ``logs-off`` marker) or off (create it, and the data dir).

    Raises:
        OSError: the data dir cannot be written.
    """
    marker = data_dir() / _OFF_MARKER
    if enabled:
        marker.unlink(missing_ok=True)
    else:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()


def new_id() -> str:
    """A new response or conversation id: 26 characters, sortable by creation time
    (a hex nanosecond timestamp and 10 random hex digits)."""
    return f"{time.time_ns():016x}" + uuid.uuid4().hex[:10]


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="milliseconds")


def _storable(text: str) -> str:
    """``text`` as SQLite can store it: a lone surrogate (a backend may send one) becomes ``?``, as on stdout."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _set_wal(connection: sqlite3.Connection) -> None:
    """Switch to write-ahead logging. Several processes creating the file at once can get
    "database is locked" here without SQLite's busy handler being called, so retry until
    :data:`BUSY_TIMEOUT_S` has passed."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _json(value: Any) -> str:
    return _storable(json.dumps(redact_value(value), ensure_ascii=False, default=str))


def _text(value: str | None) -> str | None:
    return None if value is None else _storable(str(redact_value(value)))


@attrs.frozen
class LogEntry:
    """One logged response, as ``modelplug logs`` shows it.

    Attributes:
        id: the response id (also the ``id`` of the ``--json`` chunks of that run).
        conversation_id: the conversation it belongs to.
        datetime_utc: when it was logged, ISO 8601 UTC.
        model: the model spec asked for; ``answered_by``: the ``provider:model`` that answered.
        system, prompt, response, reasoning: the texts (secrets redacted).
        tool_calls: the answer's tool calls in chat-completions wire form.
        options: the generation options; ``model_options``: the load options (secrets as ``***``).
        usage: the token counts in wire form, ``None`` when the provider reported none.
        finish_reason: as the backend sent it; ``outcome``: ``"ok"``, ``"cancelled"`` or ``"error"``.
        error: the error message when ``outcome`` is ``"error"``.
        ttft_s, duration_s: seconds to the first output and to the end.
    """

    id: str
    conversation_id: str
    datetime_utc: str
    model: str
    answered_by: str | None
    system: str | None
    prompt: str
    response: str | None
    reasoning: str | None
    tool_calls: list[dict[str, Any]]
    options: dict[str, Any]
    model_options: dict[str, Any]
    usage: dict[str, Any] | None
    finish_reason: str | None
    outcome: str
    error: str | None
    ttft_s: float | None
    duration_s: float | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the attributes."""
        return attrs.asdict(self)


def _entry(row: sqlite3.Row) -> LogEntry:
    return LogEntry(
        id=row["id"],
        conversation_id=row["conversation_id"],
        datetime_utc=row["datetime_utc"],
        model=row["model"],
        answered_by=row["answered_by"],
        system=row["system"],
        prompt=row["prompt"],
        response=row["response"],
        reasoning=row["reasoning"],
        tool_calls=json.loads(row["tool_calls"]) if row["tool_calls"] else [],
        options=json.loads(row["options"]),
        model_options=json.loads(row["model_options"]),
        usage=json.loads(row["usage"]) if row["usage"] else None,
        finish_reason=row["finish_reason"],
        outcome=row["outcome"],
        error=row["error"],
        ttft_s=row["ttft_s"],
        duration_s=row["duration_s"],
    )


class LogStoreError(ModelplugError):
    """The log database cannot be read (not a SQLite file, a folder in its place, no permission):
    the message names the file and what to do (the command line exits with status 1)."""


class LogStore:
    """The log database (see the module docstring). Use it as a context manager, or call :meth:`close`.

    Args:
        path: the database file (default :func:`logs_path`); its folder is created on the first write.

    Reading a database that does not exist yet returns nothing and creates nothing. The reading
    methods raise :class:`LogStoreError` when the file cannot be read.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = logs_path() if path is None else path
        self._connection: sqlite3.Connection | None = None
        self._schema_ready = False

    def __enter__(self) -> LogStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Turn a database that cannot be read into a :class:`LogStoreError` naming the file."""
        try:
            yield
        except (sqlite3.Error, OSError) as error:
            raise LogStoreError(
                f"cannot read the log database {self.path}: {error}; move the file away to start a new "
                "log, or stop logging with `modelplug logs off`"
            ) from error

    def _connect(self, *, create: bool) -> sqlite3.Connection | None:
        connection = self._connection
        if connection is None:
            if not create and not self.path.exists():
                return None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            connection.row_factory = sqlite3.Row
            connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            _set_wal(connection)
            self._connection = connection
        if not self._schema_ready:
            with _transaction(connection, "BEGIN IMMEDIATE"):
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        connection.execute(statement)
            self._schema_ready = True
        return connection

    def log(
        self,
        *,
        conversation_id: str,
        model: str,
        prompt: str,
        message: ChatMessage | None,
        system: str | None = None,
        answered_by: str | None = None,
        options: Mapping[str, Any] | None = None,
        model_options: Mapping[str, Any] | None = None,
        outcome: str = "ok",
        error: str | None = None,
        ttft_s: float | None = None,
        duration_s: float | None = None,
        response_id: str | None = None,
    ) -> str:
        """Write one response (and its conversation, when new) in one transaction; return its id.

        ``message`` is the (possibly partial) answer, ``None`` when none arrived; ``options`` the
        generation options; ``model_options`` the load options. Every string is redacted first.

        Raises:
            sqlite3.Error: the database cannot be written (after waiting :data:`BUSY_TIMEOUT_S`).
            OSError: its folder cannot be created.
        """
        connection = self._connect(create=True)
        assert connection is not None
        response_id = response_id or new_id()
        usage = None if message is None or message.usage is None else usage_to_wire(message.usage)
        text = None if message is None else message.text
        tool_calls = [] if message is None else message_to_wire(message).get("tool_calls", [])
        row = {
            "id": response_id,
            "conversation_id": conversation_id,
            "datetime_utc": _now(),
            "model": model,
            "answered_by": answered_by,
            "system": _text(system),
            "prompt": _text(prompt),
            "response": _text(text or None),
            "reasoning": _text(None if message is None else message.reasoning_content),
            "tool_calls": _json(tool_calls) if tool_calls else None,
            "options": _json(dict(options or {})),
            "model_options": _json(redact_mapping(model_options or {})),
            "prompt_tokens": None if usage is None else usage.get("prompt_tokens"),
            "completion_tokens": None if usage is None else usage.get("completion_tokens"),
            "usage": None if usage is None else _json(usage),
            "finish_reason": None if message is None else message.finish_reason,
            "outcome": outcome,
            "error": _text(error),
            "ttft_s": ttft_s,
            "duration_s": duration_s,
        }
        columns = ", ".join(row)
        marks = ", ".join(f":{name}" for name in row)
        with _transaction(connection, "BEGIN IMMEDIATE"):
            connection.execute(
                "INSERT OR IGNORE INTO conversations (id, model, created_utc) VALUES (?, ?, ?)",
                (conversation_id, model, row["datetime_utc"]),
            )
            connection.execute(f"INSERT INTO responses ({columns}) VALUES ({marks})", row)
        return response_id

    def last_conversation_id(self) -> str | None:
        """The conversation of the most recently logged response (``None`` when there is none)."""
        with self._reading():
            connection = self._connect(create=False)
            if connection is None:
                return None
            row = connection.execute("SELECT conversation_id FROM responses ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else str(row[0])

    def conversation(self, conversation_id: str) -> list[LogEntry]:
        """The responses of a conversation, oldest first (``[]`` for an unknown id)."""
        with self._reading():
            connection = self._connect(create=False)
            if connection is None:
                return []
            rows = connection.execute(
                "SELECT * FROM responses WHERE conversation_id = ? ORDER BY seq", (conversation_id,)
            ).fetchall()
        return [_entry(row) for row in rows]

    def entries(
        self, *, limit: int | None = 3, query: str | None = None, conversation_id: str | None = None
    ) -> list[LogEntry]:
        """The last ``limit`` responses (``None``: all), oldest first; ``query`` keeps those whose
        prompt, system prompt or answer contains it (case-insensitive for ASCII letters);
        ``conversation_id`` keeps one conversation's."""
        with self._reading():
            connection = self._connect(create=False)
        if connection is None:
            return []
        where: list[str] = []
        params: list[Any] = []
        if query:
            pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append("(prompt LIKE ? ESCAPE '\\' OR response LIKE ? ESCAPE '\\' OR system LIKE ? ESCAPE '\\')")
            params += [pattern, pattern, pattern]
        if conversation_id:
            where.append("conversation_id = ?")
            params.append(conversation_id)
        sql = "SELECT * FROM responses"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._reading():
            rows = connection.execute(sql, params).fetchall()
        return [_entry(row) for row in reversed(rows)]

    def count(self) -> int:
        """How many responses are logged."""
        with self._reading():
            connection = self._connect(create=False)
            if connection is None:
                return 0
            return int(connection.execute("SELECT count(*) FROM responses").fetchone()[0])


class _transaction:
    """``BEGIN`` (or ``begin``) ... ``COMMIT``, ``ROLLBACK`` on an exception (autocommit connections)."""

    def __init__(self, connection: sqlite3.Connection, begin: str | None = None) -> None:
        self.connection = connection
        self.begin = begin

    def __enter__(self) -> sqlite3.Connection:
        if self.begin:
            self.connection.execute(self.begin)
        return self.connection

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if not self.connection.in_transaction:
            return
        self.connection.execute("ROLLBACK" if kind is not None else "COMMIT")


class ConversationError(Exception):
    """``-c`` with no logged conversation, or ``--cid`` naming an unknown one."""


def resolve_conversation(continue_last: bool, cid: str | None, path: Path | None = None) -> tuple[str, list[LogEntry]]:
    """The conversation a command writes to and its logged responses: ``cid``'s, the last one's
    with ``continue_last``, else a new id and ``[]``.

    Raises:
        ConversationError: ``cid`` is not in the log, or ``continue_last`` with an empty log.
    """
    if not continue_last and not cid:
        return new_id(), []
    with LogStore(path) as store:
        if cid:
            entries = store.conversation(cid)
            if not entries:
                raise ConversationError(f"no logged conversation with id {cid!r} (`modelplug logs` lists them)")
            return cid, entries
        last = store.last_conversation_id()
        if last is None:
            raise ConversationError(f"-c: no conversation is logged yet in {store.path}")
        return last, store.conversation(last)


def history_messages(entries: Sequence[LogEntry]) -> Iterator[dict[str, Any]]:
    """The messages that replay a logged conversation to a model: its first system prompt, then
    each prompt as a user message and each answer's text as an assistant message (answers without
    text, such as failed ones, are left out with their prompt; tool calls are not replayed: a
    request holding calls without their results is refused by chat-completions servers)."""
    system = next((entry.system for entry in entries if entry.system), None)
    if system:
        yield {"role": "system", "content": system}
    for entry in entries:
        if not entry.response:
            continue
        yield {"role": "user", "content": entry.prompt}
        yield {"role": "assistant", "content": entry.response}
