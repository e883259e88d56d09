"""Hostile files in a business folder: each is a recorded rejection with its reason, writes nothing else,
and the other files are still ingested. Files that would hang a parser are refused at once."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aios_kernel import Workbench
from aios_kernel._entities import ingest_folder
from aios_kernel._entities._sources import read_email
from aios_kernel._limits import LIMITS
from tests.conftest import DATA

HEAD = "Date: Mon, 02 Nov 2026 09:12:04 +0100\nMessage-ID: <m@example.org>\nSubject: hello\n"
GOOD = ("From: Ingrid Solberg <ingrid@nordlys.no>\nTo: maja@lindgren-advisory.com\nDate: Mon, 02 Nov 2026 09:12:04 +0100\n"
        "Message-ID: <good@nordlys.no>\nSubject: The good message\n\nThe pricing test is live.\n")


def nested_multipart(depth: int) -> str:
    body = "Content-Type: text/plain\n\nhello\n"
    for i in reversed(range(depth)):
        body = f'Content-Type: multipart/mixed; boundary="b{i}"\n\n--b{i}\n{body}--b{i}--\n'
    return "From: a@example.org\nTo: x@example.org\n" + HEAD + "MIME-Version: 1.0\n" + body


def big_to_header(size: int) -> str:
    return "From: a@example.org\nTo: " + ", ".join(f"u{i}@example.com" for i in range(size // 16)) + "\n" + HEAD + "\nhi\n"


def _write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))


def _directory(path: Path) -> None:
    path.mkdir(parents=True)


def _dangling(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(path.parent / "does-not-exist")


CASES: list[tuple[str, str, Any, str]] = [
    ("truncated business.toml", "business.toml", '[workspace]\nname = "Lindgren', "not valid TOML"),
    ("business.toml not UTF-8", "business.toml", b'[workspace]\nname = "Lindgr\xe9n"\n', "not UTF-8"),
    ("business.toml nested 500 deep", "business.toml", "a = " + "[" * 500 + "]" * 500, "nests tables or arrays"),
    ("template not UTF-8", "templates/reply.md", b"Dear \xff\xfe", "not UTF-8"),
    ("From: a@", "emails/a.eml", "From: a@\nTo: x@example.org\n" + HEAD + "\nb\n", "no valid From header"),
    ("Message-ID: <>", "emails/b.eml", "From: a@example.org\nTo: x@example.org\nDate: Mon, 02 Nov 2026 09:12:04 +0100\n"
     "Message-ID: <>\nSubject: s\n\nb\n", "no Message-ID header"),
    ("year 9999, negative offset", "emails/c.eml", "From: a@example.org\nTo: x@example.org\n"
     "Date: Fri, 31 Dec 9999 23:00:00 -0500\nMessage-ID: <c@example.org>\n\nb\n", "between 1900 and 9999"),
    ("unknown charset", "emails/d.eml", "From: a@example.org\nTo: x@example.org\n" + HEAD
     + "Content-Type: text/plain; charset=x-unheard-of\n\nb\n", "not known"),
    ("multipart 2,000 deep", "emails/e.eml", nested_multipart(2_000), "MIME parts"),
    ("1 MB To: header", "emails/f.eml", big_to_header(1_000_000), "header block"),
    ("1,000,000-character subject", "emails/g.eml", "From: a@example.org\nTo: x@example.org\nDate: Mon, 02 Nov 2026 "
     "09:12:04 +0100\nMessage-ID: <g@example.org>\nSubject: " + "s" * 1_000_000 + "\n\nb\n", "header block"),
    ("a subject over the title limit", "emails/h.eml", "From: a@example.org\nTo: x@example.org\nDate: Mon, 02 Nov 2026 "
     "09:12:04 +0100\nMessage-ID: <h@example.org>\nSubject: " + "s" * 5_000 + "\n\nb\n", "subject has 5,000 characters"),
    ("a CSV cell over 131,072 characters", "timesheets/2026-12.csv",
     "date,project,hours,description\n2026-12-01,NRD-01,1,\"" + "x" * 140_000 + "\"\n", "not readable as CSV"),
    ("inf hours", "timesheets/2027-01.csv", "date,project,hours,description\n2027-01-04,NRD-01,inf,x\n", "finite number"),
    ("nan hours", "timesheets/2027-02.csv", "date,project,hours,description\n2027-02-01,NRD-01,nan,x\n", "finite number"),
    ("a date in year 999", "timesheets/2027-03.csv", "date,project,hours,description\n0999-03-01,NRD-01,1,x\n",
     "is not an ISO date"),
    ("a directory named like an e-mail", "emails/folder.eml", _directory, "is a folder"),
    ("a dangling link", "emails/gone.eml", _dangling, "a link to nothing"),
    ("a note dated in year 999", "notes/old.md", "---\ntitle: Old\ndate: 0999-01-01\n---\nbody\n", "is not an ISO date"),
    ("a note of an unknown kind", "notes/odd.md", "---\ntitle: Odd\nkind: 2026-10-01\n---\nbody\n", "is not one of"),
]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    biz = tmp_path / "biz"
    biz.mkdir()
    for name in ("clients.csv", "projects.csv", "business.toml"):
        shutil.copy(DATA / name, biz / name)
    _write(biz / "emails" / "00-good.eml", GOOD)
    return biz


@pytest.mark.parametrize("rel, content, reason", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_hostile_file_is_a_rejection_and_writes_nothing_else(tmp_path: Path, folder: Path, rel: str,
                                                               content: str | bytes | Callable[[Path], None],
                                                               reason: str) -> None:
    (folder / rel).unlink(missing_ok=True)
    if callable(content):
        content(folder / rel)
    else:
        _write(folder / rel, content)
    with Workbench.init(tmp_path / "ws") as wb:
        report = wb.ingest(folder)
        rejected = dict(report.rejected)
        assert list(rejected) == [rel] and reason in rejected[rel], rejected
        assert dict(wb.status().rejected)[rel] == rejected[rel]
        # the rest is ingested: the good e-mail, the clients, and its memories
        titles = {a["title"] for a in wb.records("artifacts")}
        assert "The good message" in titles and wb.status().counts["clients"] == 8
        assert wb.memory.recall("pricing test live", k=1)[0].meta["path"] == "emails/00-good.eml"
        # and nothing of the rejected file, in records or memory
        assert not any(a["source_path"] == rel for a in wb.records("artifacts"))
        assert not wb.store.scalar("SELECT count(*) FROM memories WHERE json_extract(meta, '$.path') = ?", (rel,))
        assert not any(t["source_path"] == rel for t in wb.records("time_entries"))
        written = {e.type for e in wb.store.events() if rel in str(e.payload)}
        assert written == {"rejection.upserted"}
        assert wb.verify().ok


def test_the_fixed_file_replaces_its_rejection(tmp_path: Path, folder: Path) -> None:
    _write(folder / "emails" / "a.eml", "From: a@\nTo: x@example.org\n" + HEAD + "\nb\n")
    with Workbench.init(tmp_path / "ws", data_dir=folder) as wb:
        assert [r for r, _ in wb.status().rejected] == ["emails/a.eml"]
        _write(folder / "emails" / "a.eml", "From: a@example.org\nTo: x@example.org\n" + HEAD + "\nNow fine.\n")
        wb.ingest(folder)
        assert wb.status().rejected == []
        assert any(a["title"] == "hello" for a in wb.records("artifacts"))


@pytest.mark.parametrize("make", [lambda: big_to_header(1_000_000), lambda: nested_multipart(2_000)],
                         ids=["1 MB header", "2,000-deep multipart"])
def test_a_message_that_would_hang_the_parser_is_refused_in_well_under_a_second(tmp_path: Path, make: Any) -> None:
    path = tmp_path / "m.eml"
    _write(path, make())
    start = time.perf_counter()
    with pytest.raises(Exception) as err:
        read_email(path)
    elapsed = time.perf_counter() - start
    assert type(err.value).__name__ == "IngestError" and elapsed < 1.0, (type(err.value), elapsed)


def test_recipient_lists_parse_in_linear_time_even_past_the_limits(tmp_path: Path) -> None:
    # The default policy's header parser is quadratic in a recipient list (50 KB took 0.7 s, 200 KB 7.7 s).
    # With the limits raised so that such headers are parsed, this parser takes a few milliseconds.
    roomy = replace(LIMITS, max_header_bytes=1_000_000, max_header_chars=1_000_000)
    for size in (50_000, 200_000):
        path = tmp_path / f"to{size}.eml"
        _write(path, big_to_header(size))
        start = time.perf_counter()
        msg = read_email(path, roomy)
        assert time.perf_counter() - start < 0.5 and len(msg.to) == size // 16


def test_lone_surrogates_and_undecodable_bytes_in_a_message_are_repaired_not_fatal(tmp_path: Path, folder: Path) -> None:
    raw = ("From: J\u00fcrgen <j@example.org>\nTo: x@example.org\n" + HEAD
           + "Content-Type: text/plain; charset=utf-7\n\nA lone surrogate: +2D0- and more.\n").encode()
    _write(folder / "emails" / "u.eml", raw.replace(b"J\xc3\xbcrgen", b"J\xfcrgen"))
    with Workbench.init(tmp_path / "ws", data_dir=folder) as wb:
        assert wb.status().rejected == []
        art = next(a for a in wb.records("artifacts") if a["source_path"] == "emails/u.eml")
        assert "\ufffd" in art["body"] and art["meta"]["from_name"] == "J\ufffdrgen"
        assert wb.verify().ok


def test_a_recipient_the_address_parser_cannot_read_leaves_the_list_empty(tmp_path: Path, folder: Path) -> None:
    _write(folder / "emails" / "to.eml", "From: a@example.org\nTo: a@\n" + HEAD + "\nb\n")
    with Workbench.init(tmp_path / "ws", data_dir=folder) as wb:
        assert wb.status().rejected == []
        art = next(a for a in wb.records("artifacts") if a["source_path"] == "emails/to.eml")
        assert art["meta"]["to"] == [] and art["meta"]["from"] == "a@example.org"


def test_a_store_that_cannot_be_written_stops_the_ingest_instead_of_rejecting_every_file(
        tmp_path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from aios_kernel import StoreError
    from tests.conftest import KEY_DIR

    Workbench.init(tmp_path / "ws").close()
    monkeypatch.setenv("AIOS_KEY_DIR", str(KEY_DIR / f"empty-{tmp_path.name}"))  # the workspace key is missing
    with Workbench.open(tmp_path / "ws") as wb, pytest.raises(StoreError, match="key of workspace .* is missing"):
        ingest_folder(wb.store, folder)
    with Workbench.open(tmp_path / "ws") as wb:
        assert wb.store.scalar("SELECT count(*) FROM ingest_rejections") == 0
