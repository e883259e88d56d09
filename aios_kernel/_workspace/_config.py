"""``aios.toml``: the workspace's settings, validated against one schema.

The schema is a nested dict: a key maps to a :class:`Setting` (type and
default) or to a nested dict (a table). A table keyed ``"*"`` accepts any
name, each validated against the same sub-schema (``[connectors.NAME]``).
An unknown key is an error that names it and suggests the closest known one.
Layers add their own tables with :func:`extend_schema` at import.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import _values
from .._errors import ConfigError, ValidationError
from .._limits import LIMITS


@dataclass(frozen=True)
class Setting:
    """One key: accepted types, default, and a line of help."""

    types: tuple[type, ...]
    default: Any
    help: str = ""
    choices: tuple[Any, ...] | None = None
    maximum: float | None = None
    """The largest number accepted (numbers are never negative, NaN or infinite)."""
    items: type | None = None
    """For a list: the type of its items."""


def _s(types: type | tuple[type, ...], default: Any, help: str = "", choices: tuple[Any, ...] | None = None, *,
       maximum: float | None = None, items: type | None = None) -> Setting:
    return Setting(types if isinstance(types, tuple) else (types,), default, help, choices, maximum, items)


NUMBER = (int, float)

SCHEMA: dict[str, Any] = {
    "workspace": {
        "name": _s(str, "AIOS workspace", "shown in titles and summaries"),
        "owner": _s(str, "", "the operator's name, used in signatures"),
        "email": _s(str, "", "the operator's address, used as From"),
        "timezone": _s(str, "UTC", "IANA zone for dates in reports and for the times replies propose"),
        "working_hours": _s(str, "09:00-17:00", "the owner's working hours (\"HH:MM-HH:MM\"): replies propose meetings only "
                                                "inside them"),
        "working_days": _s((str, list), "Mon-Fri", "the owner's working days (\"Mon-Fri\", \"Mon,Tue,Thu\" or a list)"),
        "currency": _s(str, "EUR", "currency of invoices and costs"),
        "data_dir": _s(str, "", "folder the workspace was seeded from (for re-ingest)"),
    },
    "models": {
        "embedding": _s(str, "all-MiniLM-L6-v2", "embedding model: name of a packaged model or a folder"),
        "generator": _s(str, "SmolLM2-135M-Instruct", "local generation model; \"template\": deterministic templates only"),
        "batch_size": _s(int, 8, "drafts generated together in one batched call"),
        "router": _s(str, "auto", "intent routing: rules, embedding (nearest centroid), or auto (rules, then embedding)",
                     ("auto", "rules", "embedding")),
        "threads": _s(int, 0, "CPU threads for local models (0: every usable core; 1 suits a machine busy with other work)"),
        "max_new_tokens": _s(int, 160, "default generation length"),
        "timeout_s": _s(NUMBER, 120.0, "a local generation slower than this falls back to templates"),
        "remote": {
            "enabled": _s(bool, False, "allow the remote tier (never sent sensitive records)"),
            "url": _s(str, "", "OpenAI-compatible base URL"),
            "model": _s(str, ""),
            "api_key_env": _s(str, "", "environment variable holding the key"),
            "timeout_s": _s(NUMBER, 30.0),
        },
        "prices": {
            "*": {
                "input_per_1k": _s(NUMBER, 0.0, "money per 1,000 input tokens"),
                "output_per_1k": _s(NUMBER, 0.0, "money per 1,000 output tokens"),
                "per_cpu_second": _s(NUMBER, 0.0, "money per CPU-second (local compute)"),
            }
        },
    },
    "budgets": {
        "daily_tokens": _s(int, 500_000),
        "daily_seconds": _s(NUMBER, 3600.0),
        "daily_money": _s(NUMBER, 10.0),
        "workflows": {
            "*": {
                "tokens": _s(int, 100_000),
                "seconds": _s(NUMBER, 900.0),
                "money": _s(NUMBER, 2.0),
            }
        },
    },
    "policies": {
        "default": _s(str, "review", "autonomy for actions not listed", ("auto", "review", "options")),
        "min_confidence": _s(NUMBER, 0.6, "below this, work goes to review", maximum=1.0),
        "actions": {"*": _s(str, "review", "autonomy of one action kind", ("auto", "review", "options"))},
    },
    "connectors": {
        "*": {
            "kind": _s(str, "", "connector type (defaults to the table's name): ledger, email, ..."),
            "enabled": _s(bool, True),
            "timeout_s": _s(NUMBER, 30.0, "each network call of this connector gives up after this long"),
            "rate_per_minute": _s(NUMBER, 0.0, "calls a minute, shared by every process on the workspace (0: no limit)"),
            "burst": _s(NUMBER, 0.0, "calls that may go at once before the rate applies (0: a tenth of a minute's worth)"),
            "breaker_failures": _s(int, 5, "failures in a row that pause the connector"),
            "breaker_cooldown_s": _s(NUMBER, 60.0, "how long a paused connector waits before one probe call"),
            "price_per_call": _s(NUMBER, 0.0, "money one call costs (shown in the cost meter)"),
            "path": _s(str, "", "file the connector writes (ledger)"),
            "folder": _s(str, "", "folder the connector writes its documents to (invoices: \"invoices\")"),
            "host": _s(str, "127.0.0.1"),
            "port": _s(int, 0),
            "username": _s(str, "", "login name (SMTP; IMAP too unless imap_username is set)"),
            "password": _s(str, "", "\"secret:NAME\": a secret from `aios secrets set NAME`, never the value itself"),
            "password_env": _s(str, ""),
            "sender": _s(str, "", "From address (default: [workspace] email)"),
            "url": _s(str, "", "where it acts: a CalDAV calendar, a webhook endpoint, a site's publishing endpoint"),
            "calendar": _s(str, "", "the CalDAV calendar's name under the login's home (empty: url is the calendar)"),
            "token": _s(str, "", "\"secret:NAME\": a bearer token from the credential store, sent as Authorization"),
            "method": _s(str, "POST", "the HTTP method of a webhook call", ("POST", "PUT", "PATCH")),
            "status_url": _s(str, "", "a webhook endpoint's GET by idempotency key ({key} is replaced): how a call "
                                      "with no answer is checked"),
            "branch": _s(str, "", "the site repository's branch to publish on (empty: the one checked out)"),
            "smtp_host": _s(str, "", "SMTP server; empty: mail is delivered into the local Maildir's Sent folder"),
            "smtp_port": _s(int, 0, "0: 465 for tls, 587 for starttls, 25 for none"),
            "smtp_security": _s(str, "", "none, starttls or tls (default: starttls with a host)", ("", "none", "starttls", "tls")),
            "sent": _s(str, "", "where copies of sent mail go: maildir, imap or none (default: imap with an imap_host)",
                       ("", "maildir", "imap", "none")),
            "sent_folder": _s(str, "Sent", "the folder for copies of sent mail"),
            "maildir": _s(str, "mail", "the workspace's local Maildir (inbound mail, and Sent without IMAP)"),
            "imap_host": _s(str, "", "IMAP server for inbound mail and the Sent folder"),
            "imap_port": _s(int, 0, "0: 993 for tls, 143 otherwise"),
            "imap_security": _s(str, "", "none, starttls or tls (default: tls)", ("", "none", "starttls", "tls")),
            "imap_username": _s(str, ""),
            "imap_password": _s(str, "", "\"secret:NAME\" (default: password)"),
            "inbox_folder": _s(str, "INBOX", "the folder mail sync reads"),
            "actions": {"*": {
                "rate_per_minute": _s(NUMBER, 0.0, "calls of this action a minute (0: no limit of its own)"),
                "burst": _s(NUMBER, 0.0),
            }},
        }
    },
    "orchestrator": {
        "lease_s": _s(NUMBER, 60.0, "a task whose worker sends no heartbeat for this long is leased again"),
        "heartbeat_s": _s(NUMBER, 10.0, "how often a busy worker renews its lease"),
        "max_attempts": _s(int, 3, "tries of a task before it is dead-lettered"),
        "backoff_base_s": _s(NUMBER, 0.2, "first retry delay; doubles each attempt, with jitter"),
        "backoff_max_s": _s(NUMBER, 30.0, "longest retry delay"),
        "max_wait_s": _s(NUMBER, 60.0, "how long run_pending waits for delayed tasks to come due"),
        "retriever": _s(str, "auto", "evidence search: memory (wb.memory), keyword, or auto", ("auto", "memory", "keyword")),
        "background": _s(bool, True, "a kernel with the extension loaded carries runs on in a background thread"),
        "worker_poll_s": _s(NUMBER, 1.0, "how often the background worker looks for due work"),
        "concurrency": {
            "agents": {"*": _s(int, 0, "tasks of this agent running at once (0: no limit)")},
            "connectors": {"*": _s(int, 0, "tasks using this connector running at once (0: no limit)")},
        },
    },
    "dask": {
        "address": _s(str, "", "dask.distributed scheduler address; empty: a local scheduler in-process"),
        "batch_size": _s(int, 64, "texts per embedding batch"),
        "batch_chars": _s(int, 4_000, "an embedding batch's padded size at most (texts times the longest, in characters): "
                                       "bounds the memory an ingest needs"),
        "workers": _s(int, 0, "local threads (0: all cores)"),
    },
    "memory": {
        "int8": _s(bool, True, "int8-quantised embedding model (faster on CPU, LoCoMo recall within 0.01 of float32); false: float32; a change re-embeds"),
        "max_chars": _s(int, 1_000_000, "longest text one memory may hold"),
        "exact_max": _s(int, 30_000, "up to this many vectors the index is exact; past it, approximate (IVF)"),
        "nprobe": _s(int, 0, "lists searched by the approximate index (0: automatic, max(32, lists/8))"),
        "kinds": _s(list, [], "record kinds besides the built-in ones", items=str),
        "retention": {
            # [memory.retention.TIER] or [memory.retention.TIER.KIND]
            "*": {
                "ttl_days": _s(NUMBER, 0.0, "0: keep forever"),
                "max_records": _s(int, 0, "0: no cap"),
                "*": {
                    "ttl_days": _s(NUMBER, 0.0, "0: keep forever"),
                    "max_records": _s(int, 0, "0: no cap"),
                },
            }
        },
    },
    "invoicing": {
        # read by aios_kernel._invoices (the seller on every invoice, numbering, payment terms)
        "legal_name": _s(str, "", "the business's name on invoices (default: [workspace] name)"),
        "address": _s(str, "", "street and number"),
        "postcode": _s(str, ""),
        "city": _s(str, ""),
        "country": _s(str, "DE", "ISO 3166 code of the business's country (decides domestic VAT or reverse charge)"),
        "vat_id": _s(str, "", "the business's VAT id (required on invoices with VAT or reverse charge)"),
        "tax_number": _s(str, "", "the business's tax number"),
        "vat_rate": _s(NUMBER, 19, "standard VAT rate in percent for clients in the business's own country"),
        "iban": _s(str, "", "account payments go to (checked)"),
        "bic": _s(str, ""),
        "bank": _s(str, ""),
        "prefix": _s(str, "INV", "invoice numbers are PREFIX-YEAR-SEQ"),
        "digits": _s(int, 4, "digits of the sequence number (zero-padded)"),
        "payment_days": _s(int, 14, "days from issue to the due date"),
        "continue_from": {"*": _s(int, 0, "YEAR = last number issued that year before this ledger (the next one follows it)")},
    },
    "schedule": {
        # [schedule.NAME]: read by aios_kernel._scheduler (policies explained in its _model module)
        "*": {
            "notebook": _s(str, "", "notebook under notebooks/ (or a path) run headless"),
            "cron": _s(str, "", "when, as a cron expression (5 fields, or 6 with seconds first)"),
            "timezone": _s(str, "", "IANA zone the cron expression is read in (empty: [workspace] timezone)"),
            "parameters": _s(dict, {}, "papermill parameters, checked against the notebook's parameters cell"),
            "timeout_s": _s(NUMBER, 3600.0, "time limit of one attempt; past it the kernel is killed (timed_out)"),
            "retries": _s(int, 0, "further attempts after a failed, timed-out or crashed one"),
            "overlap": _s(str, "skip", "a tick due while a run is going", ("skip", "buffer_one", "cancel_other", "allow")),
            "catch_up": _s(str, "latest", "ticks missed while no scheduler ran", ("latest", "none", "all")),
            "catch_up_window_s": _s(NUMBER, 86400.0, "catch_up = all: how far back missed ticks are run"),
            "catch_up_max": _s(int, 10, "catch_up = all: at most this many missed ticks are run"),
            "grace_s": _s(NUMBER, 300.0, "a tick found later than this after its time counts as missed"),
            "resume": _s(bool, True, "carry decided approvals out (wb.resume()) before the notebook starts"),
            "enabled": _s(bool, True, "false: the schedule is paused"),
        }
    },
}


def extend_schema(table: str, schema: dict[str, Any]) -> None:
    """Add or extend a top-level table (used by layers that own settings)."""
    SCHEMA.setdefault(table, {}).update(schema)


class Config:
    """Validated settings with defaults filled in; read with ``config["models"]["embedding"]`` or ``config.get("models.embedding")``."""

    def __init__(self, data: dict[str, Any], path: Path | None = None) -> None:
        self.data = data
        self.path = path

    @classmethod
    def load(cls, path: str | Path) -> Config:
        """Read and validate ``aios.toml``; a missing file gives the defaults."""
        path = Path(path)
        raw: dict[str, Any] = {}
        if path.exists() or path.is_symlink():
            raw = read_toml(path)
        return cls(validate(raw, path=path), path)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, dotted: str, default: Any = None) -> Any:
        node: Any = self.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return node

    def __repr__(self) -> str:
        return f"Config({self.path})"


def read_toml(path: Path, *, max_bytes: int = LIMITS.max_file_bytes) -> dict[str, Any]:
    """Parse a TOML file we do not control (``aios.toml``, a business folder's ``business.toml``).

    Every way it can be unusable is a ConfigError saying what to do: not a file,
    unreadable, too big, not UTF-8, not TOML, nested too deeply.
    """
    try:
        if not path.is_file():
            what = "a folder" if path.is_dir() else "not a regular file (a dangling link?)"
            raise ConfigError(f"{path} is {what}; it must be a TOML file", path=path)
        size = path.stat().st_size
        if size > max_bytes:
            raise ConfigError(f"{path} has {size:,} bytes, more than the limit of {max_bytes:,}; is it the right file?",
                              path=path)
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text ({exc}); save it as UTF-8", path=path) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path} ({exc.strerror}); check that it is a readable file", path=path) from exc
    depth = _nesting(text)
    if depth > LIMITS.max_toml_depth:
        raise ConfigError(f"{path} nests tables or arrays {depth} deep, more than {LIMITS.max_toml_depth}; flatten it",
                          path=path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}; fix the line it names", path=path) from exc
    except RecursionError:
        raise ConfigError(f"{path} is nested too deeply to read; flatten it", path=path) from None


def _nesting(text: str) -> int:
    """An upper bound on the bracket nesting of TOML text (brackets in strings count too: never too low)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
    return deepest


def validate(raw: dict[str, Any], *, path: Path | None = None) -> dict[str, Any]:
    """Check ``raw`` against :data:`SCHEMA`; return it with defaults filled in."""
    return _validate_table(raw, SCHEMA, "", path)


def _validate_table(raw: Any, schema: dict[str, Any], prefix: str, path: Path | None) -> dict[str, Any]:
    where = f"[{prefix}]" if prefix else "the top level"
    if not isinstance(raw, dict):
        raise ConfigError(f"{_file(path)}: {prefix} must be a table, got {type(raw).__name__}", path=path, key=prefix)
    out: dict[str, Any] = {}
    wildcard = schema.get("*")
    for key, value in raw.items():
        dotted = f"{prefix}.{key}" if prefix else key
        spec = schema.get(key, wildcard)
        if spec is None:
            close = difflib.get_close_matches(key, [k for k in schema if k != "*"], n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f"; known keys in {where}: {', '.join(k for k in schema if k != '*')}"
            raise ConfigError(f"{_file(path)}: unknown key '{dotted}'{hint}. Remove or rename it.", path=path, key=dotted)
        out[key] = _validate_value(value, spec, dotted, path)
    for key, spec in schema.items():
        if key == "*" or key in out:
            continue
        out[key] = _validate_table({}, spec, f"{prefix}.{key}" if prefix else key, path) if isinstance(spec, dict) else spec.default
    return out


def _validate_value(value: Any, spec: Setting | dict[str, Any], dotted: str, path: Path | None) -> Any:
    if isinstance(spec, dict):
        return _validate_table(value, spec, dotted, path)
    ok = isinstance(value, spec.types) and not (isinstance(value, bool) and bool not in spec.types)
    if not ok:
        want = " or ".join(t.__name__ for t in spec.types)
        raise ConfigError(f"{_file(path)}: '{dotted}' must be {want}, got {value!r}", path=path, key=dotted)
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(f"{_file(path)}: '{dotted}' must be one of {', '.join(map(str, spec.choices))}, got {value!r}", path=path, key=dotted)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{_file(path)}: '{dotted}' must be a finite number, got {value!r}", path=path, key=dotted)
        if value < 0:
            raise ConfigError(f"{_file(path)}: '{dotted}' must not be negative, got {value!r}", path=path, key=dotted)
        if spec.maximum is not None and value > spec.maximum:
            raise ConfigError(f"{_file(path)}: '{dotted}' must be at most {spec.maximum:g}, got {value!r}", path=path, key=dotted)
    if spec.items is not None and any(not isinstance(v, spec.items) for v in value):
        raise ConfigError(f"{_file(path)}: '{dotted}' must be a list of {spec.items.__name__}, got {value!r}", path=path,
                          key=dotted)
    try:
        _values.json_value(value, dotted)  # strings without NULs, 64-bit integers, bounded depth
    except ValidationError as exc:
        raise ConfigError(f"{_file(path)}: {exc}", path=path, key=dotted) from None
    return value


def _file(path: Path | None) -> str:
    return str(path) if path else "aios.toml"
