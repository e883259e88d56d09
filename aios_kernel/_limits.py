"""Resource limits for input the workbench does not control, with their defaults.

Values handed to the public API (texts, meta, ids, times) and the files of a
business folder (e-mails, CSV, notes, TOML) are checked against these before
anything is parsed deeply or written. A value past a limit is refused with an
error naming the limit; a file past one is recorded as a rejected source file.
Every limit is generous for real business data and small enough that no single
input can hang a run or exhaust memory: parsing stays linear in the input.

``LIMITS`` holds the defaults; ``ingest_folder(..., limits=Limits(...))`` takes
other values (tests use small ones to reach a limit cheaply).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """One set of limits; each field says what it bounds."""

    # -- times ---------------------------------------------------------------------------
    min_year: int = 1900
    """Earliest year a time may have (older dates in business data are typos)."""
    max_year: int = 9999
    """Latest year a time may have (ISO 8601 with four-digit years ends there)."""

    # -- values given to the API ----------------------------------------------------------
    max_id_chars: int = 512
    """An id, reference or key (memory ids, ``source_ref``, client and project ids)."""
    max_label_chars: int = 200
    """A short label: who decided (``by=``), an actor, an option name."""
    max_reason_chars: int = 10_000
    """A reason or note kept in the audit trail."""
    max_query_chars: int = 100_000
    """A recall query."""
    max_json_depth: int = 32
    """Nesting of meta, edits and other JSON values (dicts and lists inside each other)."""
    max_json_chars: int = 1_000_000
    """Encoded size of one meta (or edits) value, in characters."""
    max_int_bits: int = 63
    """Integers in JSON values fit a signed 64-bit integer (SQLite's and most readers' limit)."""
    max_k: int = 10_000
    """Results one recall may return."""
    max_chunk: int = 100_000
    """Records one transaction of ``remember_many`` may write."""
    max_ttl_days: float = 36_500.0
    """A memory's lifetime (100 years)."""

    # -- source files -----------------------------------------------------------------------
    max_file_bytes: int = 25 * 1024 * 1024
    """Any one source file (a CSV, a note, a template, ``business.toml``); e-mails have their own limit."""
    max_message_bytes: int = 48 * 1024 * 1024
    """One e-mail as received (a 25 MB attachment, the usual providers' ceiling, is about 34 MB once encoded)."""
    max_header_bytes: int = 64 * 1024
    """The header block of one message (all fields together)."""
    max_header_chars: int = 16 * 1024
    """One header field of a message, unfolded (a subject, a recipient list)."""
    max_mime_parts: int = 100
    """MIME parts in one message (counted before parsing: it also bounds the nesting)."""
    max_mime_depth: int = 16
    """Nesting of multipart and attached messages inside each other."""
    max_attachment_bytes: int = 32 * 1024 * 1024
    """One decoded MIME part; a larger attachment is listed with the message but not stored."""
    max_body_chars: int = 1_000_000
    """The text body of one message or note."""
    max_title_chars: int = 1_000
    """A title or subject (it heads every memory passage cut from the source)."""
    max_csv_field_chars: int = 131_072
    """One CSV cell (Python's csv module's own default limit)."""
    max_csv_rows: int = 1_000_000
    """Rows of one CSV file."""
    max_toml_depth: int = 32
    """Nesting of tables and arrays in ``aios.toml`` and ``business.toml``."""


LIMITS = Limits()
