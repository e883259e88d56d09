"""The ``invoices`` component: the invoice ledger.

==========================  ==========================================================
event                       projection
==========================  ==========================================================
invoice.series_opened       ``invoice_series``: the first number of a year
invoice.issued              ``invoices``: a numbered invoice or credit note (the number
                            is taken in this event's transaction)
invoice.rendered            ``invoices.pdf/xml`` and their SHA-256
invoice.sent                status ``sent``
invoice.paid                ``invoice_payments``; status ``paid`` once fully paid
invoice.voided              status ``void`` (the number stays)
approval.requested          ``invoice_drafts`` (an ``issue_invoice`` waiting: ``draft``)
approval.decided            ``invoice_drafts`` ``approved`` or ``rejected``
==========================  ==========================================================

The store itself refuses what would break the numbering: a number already
taken, a number out of sequence (a gap, or one before the year's series was
opened), and a number changed after issue, each with a message saying so.
"""

from __future__ import annotations

import sqlite3

from .._store import Event, Migration, component
from .._store import _json

DDL = """
CREATE TABLE invoice_series (
    year INTEGER PRIMARY KEY, prefix TEXT NOT NULL, first_seq INTEGER NOT NULL CHECK (first_seq >= 1),
    event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE TABLE invoices (
    id TEXT PRIMARY KEY, key TEXT NOT NULL UNIQUE, number TEXT NOT NULL UNIQUE, year INTEGER NOT NULL, seq INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    status TEXT NOT NULL CHECK (status IN ('issued', 'sent', 'paid', 'void')),
    ref TEXT, client_id TEXT, client TEXT NOT NULL, currency TEXT NOT NULL,
    net TEXT NOT NULL, vat TEXT NOT NULL, total TEXT NOT NULL, paid TEXT NOT NULL DEFAULT '0.00',
    issue_date TEXT NOT NULL, due_date TEXT, credit_of TEXT, credited_by TEXT, document TEXT NOT NULL,
    pdf TEXT, xml TEXT, pdf_sha256 TEXT, xml_sha256 TEXT,
    issued_at TEXT NOT NULL, sent_at TEXT, paid_at TEXT, voided_at TEXT, void_reason TEXT,
    event_seq INTEGER NOT NULL REFERENCES events(seq),
    UNIQUE (year, seq)
);
CREATE INDEX invoices_status ON invoices(status, due_date);
CREATE TABLE invoice_payments (
    id TEXT PRIMARY KEY, number TEXT NOT NULL REFERENCES invoices(number), date TEXT NOT NULL, amount TEXT NOT NULL,
    source TEXT NOT NULL, reference TEXT, event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE TABLE invoice_drafts (
    key TEXT PRIMARY KEY, approval_id TEXT NOT NULL UNIQUE, ref TEXT, client TEXT, total TEXT, currency TEXT,
    status TEXT NOT NULL, requested_at TEXT NOT NULL, event_seq INTEGER NOT NULL REFERENCES events(seq)
);
CREATE TRIGGER invoices_number_taken BEFORE INSERT ON invoices
WHEN EXISTS (SELECT 1 FROM invoices WHERE number = NEW.number)
BEGIN
    SELECT RAISE(ABORT, 'invoice number already taken: an invoice number is given once and never reused');
END;
CREATE TRIGGER invoices_number_in_sequence BEFORE INSERT ON invoices
WHEN NEW.seq IS NOT (SELECT coalesce((SELECT max(seq) FROM invoices WHERE year = NEW.year),
                                     (SELECT first_seq - 1 FROM invoice_series WHERE year = NEW.year)) + 1)
BEGIN
    SELECT RAISE(ABORT, 'invoice number out of sequence: each year''s numbers follow one another without gaps, starting where the year''s series was opened');
END;
CREATE TRIGGER invoices_number_kept BEFORE UPDATE OF number, year, seq ON invoices
WHEN NEW.number IS NOT OLD.number OR NEW.year IS NOT OLD.year OR NEW.seq IS NOT OLD.seq
BEGIN
    SELECT RAISE(ABORT, 'an issued invoice keeps its number: void it or credit it, never renumber it');
END;
"""

invoices = component("invoices", tables=["invoice_series", "invoices", "invoice_payments", "invoice_drafts"])
invoices.add_migration(Migration(1, "ledger_numbers_payments_drafts", DDL))

COLUMNS = ("id", "key", "number", "year", "seq", "kind", "ref", "client_id", "client", "currency", "net", "vat",
           "total", "issue_date", "due_date", "credit_of", "document", "issued_at")


@invoices.projector("invoice.series_opened")
def _series(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    conn.execute("INSERT INTO invoice_series(year, prefix, first_seq, event_seq) VALUES (?,?,?,?)",
                 (int(p["year"]), p["prefix"], int(p["first_seq"]), event.seq))


@invoices.projector("invoice.issued")
def _issued(conn: sqlite3.Connection, event: Event) -> None:
    p = dict(event.payload)
    p["document"] = _json.dumps(p["document"])
    p["issued_at"] = event.at
    conn.execute(f"INSERT INTO invoices({', '.join(COLUMNS)}, status, event_seq) VALUES ({', '.join('?' * len(COLUMNS))}, 'issued', ?)",
                 (*(p.get(c) for c in COLUMNS), event.seq))
    if p.get("credit_of"):
        conn.execute("UPDATE invoices SET credited_by=? WHERE number=?", (p["number"], p["credit_of"]))


@invoices.projector("invoice.rendered")
def _rendered(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    conn.execute("UPDATE invoices SET pdf=?, xml=?, pdf_sha256=?, xml_sha256=? WHERE number=?",
                 (p["pdf"], p["xml"], p["pdf_sha256"], p["xml_sha256"], p["number"]))


@invoices.projector("invoice.sent")
def _sent(conn: sqlite3.Connection, event: Event) -> None:
    conn.execute("UPDATE invoices SET status=CASE WHEN status='issued' THEN 'sent' ELSE status END, sent_at=coalesce(sent_at, ?)"
                 " WHERE number=?", (event.at, event.payload["number"]))


@invoices.projector("invoice.paid")
def _paid(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    conn.execute("INSERT INTO invoice_payments(id, number, date, amount, source, reference, event_seq) VALUES (?,?,?,?,?,?,?)",
                 (p["id"], p["number"], p["date"], p["amount"], p["source"], p.get("reference"), event.seq))
    conn.execute("UPDATE invoices SET paid=?, status=CASE WHEN ? THEN 'paid' ELSE status END,"
                 " paid_at=CASE WHEN ? THEN ? ELSE paid_at END WHERE number=?",
                 (p["paid_total"], bool(p["settled"]), bool(p["settled"]), p["date"], p["number"]))


@invoices.projector("invoice.voided")
def _voided(conn: sqlite3.Connection, event: Event) -> None:
    conn.execute("UPDATE invoices SET status='void', voided_at=?, void_reason=? WHERE number=?",
                 (event.at, event.payload.get("reason"), event.payload["number"]))


@invoices.projector("approval.requested")
def _draft(conn: sqlite3.Connection, event: Event) -> None:
    p = event.payload
    if p.get("action") != "issue_invoice" or p.get("kind") != "action":
        return
    what = p.get("payload") or {}
    key = (p.get("why") or {}).get("key")
    if not key:
        return
    conn.execute("INSERT INTO invoice_drafts(key, approval_id, ref, client, total, currency, status, requested_at, event_seq)"
                 " VALUES (?,?,?,?,?,?, 'draft', ?, ?) ON CONFLICT(key) DO UPDATE SET approval_id=excluded.approval_id,"
                 " status='draft', event_seq=excluded.event_seq",
                 (key, p.get("id") or event.entity.split(":", 1)[1], what.get("ref"), what.get("client"), what.get("total"),
                  what.get("currency"), event.at, event.seq))


@invoices.projector("approval.decided")
def _decided(conn: sqlite3.Connection, event: Event) -> None:
    approval = event.entity.split(":", 1)[1]
    status = event.payload.get("status")
    if status in ("approved", "rejected"):
        conn.execute("UPDATE invoice_drafts SET status=?, event_seq=? WHERE approval_id=?", (status, event.seq, approval))
