"""What matters in automated mail becomes a fact in memory at ingest, with provenance pointing at the e-mail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

RECEIPT = """From: Webflow <billing@webflow-example.com>
To: owner@example-biz.com
Date: Thu, 12 Nov 2026 09:15:00 +0000
Subject: Your Webflow Receipt
Message-ID: <receipt-1@webflow-example.com>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Thank you for your payment. Your card was charged $45.00 by Webflow for the CMS site plan.
Order reference: WF-20261112-88
Please do not reply to this e-mail.
"""


def test_a_receipt_gives_one_fact_memory_with_its_amount_and_provenance(tmp_path: Path, minilm: Any) -> None:
    from aios_kernel import Workbench

    biz = tmp_path / "biz"
    (biz / "emails").mkdir(parents=True)
    (biz / "emails" / "receipt.eml").write_text(RECEIPT)
    with Workbench.init(tmp_path / "ws", data_dir=biz) as wb:
        [art] = wb.records.emails()
        assert art["meta"]["inbound"]["automated"]["kind"] in ("receipt", "notification")
        facts = [r for r in wb.memory.frame(kind="fact").to_dicts()]
        assert len(facts) == 1
        fact = wb.memory.get(facts[0]["id"])
        assert fact["source_ref"] == f"artifact:{art['id']}" and fact["tier"] == "long-term"
        assert "45.00 USD" in fact["text"] and "WF-20261112-88" in fact["text"]
        assert {"type": "amount", "amount": "45.00", "currency": "USD"}.items() <= fact["meta"]["facts"][0].items()
        assert "inbound" not in fact["meta"]  # the findings stay on the artifact
        hits = wb.memory.recall("how much did Webflow charge", k=3, kind="fact")
        assert hits and hits[0].source_ref == f"artifact:{art['id']}"
        before = wb.store.last_seq()
        wb.ingest()  # unchanged: no new fact, no new event
        assert wb.store.last_seq() == before
