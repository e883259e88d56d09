"""How far a hand-over got, recorded before and after the step that cannot be taken back.

An e-mail is handed over by SMTP's DATA: once it starts, the server may
accept the message even if our side never hears the answer. The connector
marks ``data`` (committed) before DATA and ``accepted`` after the server's
250; after a crash, ``was_applied`` reads these marks: ``accepted`` means
sent, ``data`` alone means nobody knows (the operator is asked), no mark
means it was never handed over (safe to send).
"""

from __future__ import annotations

from typing import Any

from .._ids import iso


class Journal:
    """The ``connector_journal`` table: one row per key and stage."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def mark(self, key: str, stage: str, detail: str = "") -> None:
        """Record that ``key`` reached ``stage``, committed before this returns."""
        with self.store.atomic() as conn:
            conn.execute("INSERT OR IGNORE INTO connector_journal(key, stage, at, detail) VALUES (?,?,?,?)",
                         (key, stage, iso(), detail or None))

    def stages(self, key: str) -> dict[str, str]:
        """Stage -> when, for ``key``."""
        return {r[0]: r[1] for r in self.store.query("SELECT stage, at FROM connector_journal WHERE key=?", (key,))}

    def detail(self, key: str, stage: str) -> str | None:
        """What was noted with ``stage`` of ``key`` (None when the stage was not reached)."""
        row = self.store.one("SELECT detail FROM connector_journal WHERE key=? AND stage=?", (key, stage))
        return None if row is None else row[0]

    def forget(self, key: str) -> None:
        """Drop the marks of ``key`` (a resend the operator asked for starts from nothing)."""
        with self.store.atomic() as conn:
            conn.execute("DELETE FROM connector_journal WHERE key=?", (key,))
