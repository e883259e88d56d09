"""Ingesting the demo business: counts, reconciliation, idempotency, rejections."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aios_kernel import Workbench
from aios_kernel._entities import normalise_name
from tests.conftest import DATA


def test_demo_business_is_ingested(wb: Workbench) -> None:
    status = wb.status()
    assert status.counts["clients"] == 8  # nine rows, one client spelled twice
    assert status.counts["projects"] == 6
    kinds = {r["kind"] for r in wb.records("artifacts")}
    assert {"meeting", "document", "note", "email", "template"} <= kinds
    emails = [a for a in wb.records("artifacts") if a["kind"] == "email"]
    assert len(emails) == len(list((DATA / "emails").glob("*.eml"))) - 1
    notes = [a for a in wb.records("artifacts") if a["kind"] in {"meeting", "document", "note"}]
    assert len(notes) == len(list((DATA / "notes").glob("*.md")))
    assert status.counts["time_entries"] > 20 and status.counts["rates"] >= 3


def test_duplicate_client_is_reconciled_with_aliases(wb: Workbench) -> None:
    hallberg = [c for c in wb.records("clients") if "hallberg" in c["name"].lower()]
    assert len(hallberg) == 1
    assert {normalise_name(a) for a in hallberg[0]["aliases"]} == {normalise_name(hallberg[0]["name"])}
    contacts = [p for p in wb.records("contacts") if p["client_id"] == hallberg[0]["id"]]
    assert len(contacts) == 1 and len(contacts[0]["aliases"]) == 1
    # both spellings used in projects.csv resolve to the one client
    projects = [p for p in wb.records("projects") if p["client_id"] == hallberg[0]["id"]]
    assert projects


def test_malformed_email_is_rejected_with_reason_and_fix(wb: Workbench) -> None:
    rejected = dict(wb.status().rejected)
    assert list(rejected) == ["emails/30-malformed.eml"]
    message = rejected["emails/30-malformed.eml"]
    assert "malformed" in message and "From" in message and "aios ingest" in message


def test_prompt_injection_email_is_flagged_and_untrusted(wb: Workbench) -> None:
    flagged = [a for a in wb.records("artifacts") if a["kind"] == "email" and "prompt_injection" in a["meta"]["flags"]]
    assert len(flagged) == 1
    assert flagged[0]["meta"]["untrusted"] is True
    assert "ignore" in flagged[0]["body"].lower()


def test_threads_link_replies_to_their_first_message(wb: Workbench) -> None:
    emails = [a for a in wb.records("artifacts") if a["kind"] == "email"]
    threads: dict[str, int] = {}
    for e in emails:
        threads[e["meta"]["thread_id"]] = threads.get(e["meta"]["thread_id"], 0) + 1
    assert sum(1 for n in threads.values() if n >= 2) >= 5
    ids = {e["meta"]["message_id"] for e in emails}
    assert all(t in ids for t, n in threads.items() if n >= 2)


def test_reingest_is_idempotent(wb: Workbench) -> None:
    before = wb.store.last_seq()
    report = wb.ingest()
    assert report.total_written == 0
    assert wb.store.last_seq() == before


def test_changed_file_writes_one_event_and_fixed_file_clears_rejection(tmp_path: Path) -> None:
    biz = tmp_path / "biz"
    shutil.copytree(DATA, biz)
    with Workbench.init(tmp_path / "ws", data_dir=biz) as wb:
        note = sorted((biz / "notes").glob("*.md"))[0]
        note.write_text(note.read_text() + "\nAn added line.\n")
        before = wb.store.last_seq()
        report = wb.ingest()
        assert report.written == {"artifact": 1}
        added = wb.store.events(since_seq=before)
        # one artifact event; memory keeps the old text as a version and adds the new one
        assert [e.type for e in added] == ["artifact.upserted", "memory.updated"]
        assert added[1].cause_id is None or added[1].cause_id == added[0].id
        # fix the malformed e-mail: the rejection goes away, the message arrives
        (biz / "emails" / "30-malformed.eml").write_text(
            "From: Someone <someone@example.org>\nTo: maja@lindgren-advisory.com\n"
            "Date: Fri, 20 Nov 2026 10:00:00 +0100\nSubject: Fixed\nMessage-ID: <fixed@example.org>\n\nBody.\n"
        )
        wb.ingest()
        assert wb.status().rejected == []
        assert any(a["title"] == "Fixed" for a in wb.records("artifacts"))
        assert wb.verify().ok


def test_a_bad_row_rejects_its_file_and_writes_nothing_of_it(tmp_path: Path) -> None:
    biz = tmp_path / "biz"
    shutil.copytree(DATA, biz)
    with (biz / "timesheets" / "2026-11.csv").open("a") as fh:
        fh.write("2026-11-20,NRD-01,three,oops\n")
    with Workbench.init(tmp_path / "ws", data_dir=biz) as wb:
        rejected = dict(wb.status().rejected)
        assert "not a number" in rejected["timesheets/2026-11.csv"]
        assert not any(t["source_path"] == "timesheets/2026-11.csv" for t in wb.records("time_entries"))
        assert any(t["source_path"] == "timesheets/2026-10.csv" for t in wb.records("time_entries"))


def test_ingest_of_a_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    from aios_kernel import WorkspaceError

    with pytest.raises(WorkspaceError, match="not a folder of business data"):
        Workbench.init(tmp_path / "ws", data_dir=tmp_path / "nope")
