"""What connectors learn is kept in memory, signed with the workspace key: an edited record is found by verify."""

from __future__ import annotations

from pathlib import Path

import pytest

from aios_kernel import ValidationError
from tests.connectors.conftest import Smtp, email_settings


@pytest.fixture
def sent(demo_ws: Path, smtp: Smtp):  # noqa: ANN201
    """The demo's replies approved and sent to a real SMTP server on 127.0.0.1."""
    from aios_kernel import Workbench
    from benchmarks._fast import make_fast

    root = make_fast(demo_ws)
    email_settings(root, smtp)
    wb = Workbench.open(root)
    wb.run("inbox_triage", {})
    wb.approvals.approve_all()
    wb.resume()
    yield wb
    wb.close()


def _assertions(wb) -> list[dict]:  # noqa: ANN001
    return wb.store.query("SELECT m.id, m.meta, m.source_ref, c.text FROM memories m JOIN memory_content c "
                          "ON c.hash = m.content_hash WHERE m.kind = 'assertion' AND m.status = 'active'")


def test_every_sent_email_is_a_signed_memory_with_its_provenance(sent, smtp: Smtp) -> None:  # noqa: ANN001
    import json

    rows = _assertions(sent)
    assert len(smtp.messages) > 0 and len(rows) == len(smtp.messages)
    received = {m["Message-ID"] for m in smtp.messages}
    for r in rows:
        meta = json.loads(r["meta"])
        assert meta["fact"] == "sent" and meta["connector"] == "email" and meta["signature"].startswith("hmac-sha256:")
        assert r["source_ref"] == f"effect:{meta['effect_key']}" and meta["message_id"] in received
        assert f"accepted by the SMTP server 127.0.0.1:{smtp.port}" in r["text"]
    report = sent.verify()
    assert report.ok, str(report)
    assert any(f"{len(rows)} signed memories checked" in n for n in report.notes)
    hits = sent.memory.recall("which e-mails were accepted by the SMTP server", k=20, kind="assertion")
    assert len(hits) >= 1 and all(h.kind == "assertion" for h in hits)


def test_an_assertion_edited_in_the_store_is_reported_by_verify(sent) -> None:  # noqa: ANN001
    import sqlite3

    from tests.test_cli import aios

    first, second = _assertions(sent)[:2]
    path = sent.paths.store
    root = sent.paths.root
    sent.close()
    with sqlite3.connect(path) as conn:  # someone with the file, not the workspace key, rewrites history
        conn.execute("UPDATE memories SET meta = replace(meta, '\"fact\":\"sent\"', '\"fact\":\"bounced\"') WHERE id=?",
                     (first["id"],))
        conn.execute("UPDATE memory_content SET text = 'E-mail was never sent' WHERE hash = "
                     "(SELECT content_hash FROM memories WHERE id=?)", (second["id"],))
    result = aios("verify", str(root))
    assert result.returncode == 1
    assert first["id"] in result.stdout and "no longer matches its signature" in result.stdout
    assert second["id"] in result.stdout and "text was changed" in result.stdout


def test_an_assertion_is_not_edited_through_the_api(sent) -> None:  # noqa: ANN001
    mid = _assertions(sent)[0]["id"]
    with pytest.raises(ValidationError, match="signed assertion"):
        sent.memory.update(mid, "something else", reason="tidying up")
    sent.memory.forget(mid, reason="sent to the wrong address, recorded by mistake")
    assert sent.verify().ok
