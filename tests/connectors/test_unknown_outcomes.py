"""An e-mail whose fate nobody knows becomes a decision, and is never sent again on its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.connectors.conftest import Smtp, email_settings
from tests.orchestrator.conftest import make_fast

pytestmark = pytest.mark.slow


@pytest.fixture
def mail_ws(demo_ws: Path, smtp: Smtp) -> Path:
    make_fast(demo_ws)
    email_settings(demo_ws, smtp)
    return demo_ws


def _reply_waiting(wb):  # noqa: ANN001, ANN202
    wb.run("inbox_triage", {"limit": 8}, idempotency_key="unknown-outcomes")
    return next(a for a in wb.approvals.pending() if a.action == "send_email")


def test_a_dropped_connection_after_data_asks_the_operator_and_mark_sent_sends_nothing_more(mail_ws: Path, smtp: Smtp) -> None:
    from aios_kernel import Workbench

    with Workbench.open(mail_ws) as wb:
        reply = _reply_waiting(wb)
        smtp.provoke("drop")
        reply.approve()
        wb.run_pending(run_id=reply.run_id)
        asked = [a for a in wb.approvals.pending() if a.kind == "effect"]
        assert len(asked) == 1
        question = asked[0]
        assert [o["id"] for o in question.options] == ["mark_sent", "resend", "skip"]
        assert "Message-ID" in question.why["hint"] and question.payload["subject"] == reply.payload["subject"]
        effect = next(e for e in wb.get_run(reply.run_id).effects if e["key"] == reply.why["key"])
        assert effect["status"] == "unknown"
        assert sum(smtp.per_message_id().values()) == 1  # the server has it; nobody here could know
        # resume again and again: still asking, never resending on its own
        wb.resume()
        wb.resume()
        assert sum(smtp.per_message_id().values()) == 1
        assert [a.id for a in wb.approvals.pending() if a.kind == "effect"] == [question.id]
        # `aios approve --all` (the other replies too) takes the first option here: record it as sent
        wb.approvals.approve_all()
        wb.run_pending(run_id=reply.run_id)
        effect = next(e for e in wb.get_run(reply.run_id).effects if e["key"] == reply.why["key"])
        assert effect["status"] == "applied" and effect["result"]["confirmed_by"] == "operator"
        task = next(t for t in wb.get_run(reply.run_id).tasks if t.id == reply.task_id)
        assert task.status == "succeeded"
    from aios_kernel._connectors._email import message_id

    counts = smtp.per_message_id()
    assert counts[message_id(reply.why["key"], "lindgren-advisory.com")] == 1
    assert max(counts.values()) == 1  # the other approved replies went out too, each once


def test_resend_is_what_the_operator_chose_and_skip_leaves_it_undone(mail_ws: Path, smtp: Smtp) -> None:
    from aios_kernel import Workbench

    with Workbench.open(mail_ws) as wb:
        wb.run("inbox_triage", {"limit": 8}, idempotency_key="unknown-outcomes-2")
        first, second = [a for a in wb.approvals.pending() if a.action == "send_email"][:2]
        smtp.provoke("drop", times=2)
        for a in (first, second):
            a.approve()
        wb.run_pending()
        asked = {a.task_id: a for a in wb.approvals.pending() if a.kind == "effect"}
        assert set(asked) == {first.task_id, second.task_id}
        asked[first.task_id].choose("resend")
        asked[second.task_id].choose("skip")
        wb.run_pending()
        counts = smtp.per_message_id()
        assert sorted(counts.values()) == [1, 2]  # the resent one twice (by choice), the skipped one once
        tasks = {t.id: t for t in wb.get_run(first.run_id).tasks}
        assert tasks[first.task_id].status == "succeeded" and tasks[second.task_id].status == "cancelled"
