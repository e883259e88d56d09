"""A workspace is a folder: settings, the store, indexes and run outputs.

Layout::

    WORKSPACE/
        aios.toml       settings (validated; see _config.SCHEMA)
        store.db        the SQLite store, the single source of truth
        index/          vector indexes, rebuilt from the store when missing
        runs/           executed notebooks and their HTML, one folder per run
        snapshots/      consistent backups made by `aios snapshot`
        ledger.jsonl    side effects executed through the local ledger connector
        invoices/       issued invoices: NUMBER.pdf (Factur-X PDF/A-3) and NUMBER.xml (EN 16931)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .._errors import WorkspaceError
from ._config import Config

ENV_VAR = "AIOS_WORKSPACE"
CONFIG_NAME = "aios.toml"
STORE_NAME = "store.db"

DEFAULT_TOML = """\
# AIOS Workbench settings. Every key is optional; an unknown key is an error.
# See docs/ARCHITECTURE.md for what each table controls.

[workspace]
name = {name}
owner = {owner}
email = {email}
timezone = {timezone}
# When replies may propose meetings: times in this zone, on these days, within these hours.
working_hours = {working_hours}
working_days = {working_days}
currency = {currency}
data_dir = {data_dir}

[models]
embedding = "all-MiniLM-L6-v2"
generator = "SmolLM2-135M-Instruct"

[models.prices.local]
# Local models cost compute only; price a CPU-second to see it in the cost meter.
per_cpu_second = 0.0001

[budgets]
daily_tokens = 500000
daily_seconds = 3600
daily_money = 10.0

[policies]
default = "review"
min_confidence = 0.6

[policies.actions]
classify = "auto"
draft_reply = "auto"
send_email = "review"
issue_invoice = "review"
publish_post = "review"

[connectors.ledger]
# Posts and other effects without a connector of their own land here: one JSON line per effect.
path = "ledger.jsonl"

[connectors.invoices]
# The invoice ledger in store.db; each issued invoice is invoices/NUMBER.pdf (Factur-X) and NUMBER.xml.
kind = "invoices"
folder = "invoices"

[connectors.email]
# With no smtp_host, mail is delivered into the workspace's Maildir (mail/.Sent) and nothing
# leaves the machine. For a real server:
# smtp_host = "smtp.example.org"
# smtp_security = "starttls"          # or "tls", or "none"
# username = "maja@lindgren-advisory.com"
# password = "secret:smtp"            # stored with: aios secrets set smtp
# imap_host = "imap.example.org"      # copies of sent mail go to its Sent folder

[connectors.calendar]
# Events live in this iCalendar file until a CalDAV calendar is set:
path = "calendar.ics"
# url = "https://dav.example.org/calendars/maja/work/"
# username = "maja"
# password = "secret:caldav"          # stored with: aios secrets set caldav

[connectors.site]
# Posts are published as commits to the static site in this git repository (created on first use).
path = "site"
folder = "posts"
# url = "https://cms.example.org/api/posts"   # also post each one to this endpoint
# token = "secret:cms"

[dask]
# Empty: a local scheduler in this process. Set "tcp://127.0.0.1:8786" to use a cluster.
address = ""
batch_size = 64
"""


@dataclass(frozen=True)
class WorkspacePaths:
    """Where each part of a workspace lives."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def store(self) -> Path:
        return self.root / STORE_NAME

    @property
    def index(self) -> Path:
        return self.root / "index"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def attachments(self) -> Path:
        return self.root / "attachments"

    def resolve(self, relative: str) -> Path:
        """A path from aios.toml, relative to the workspace unless absolute."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self.root / p


def default_path() -> Path:
    """``$AIOS_WORKSPACE`` if set, else ``./workspace``."""
    return Path(os.environ.get(ENV_VAR) or "workspace").expanduser().resolve()


def check_path(path: Path, *, must_exist: bool) -> None:
    """Refuse paths that cannot hold a workspace, with the fix in the message."""
    if path.exists() and not path.is_dir():
        raise WorkspaceError(f"{path} is a file, not a folder; a workspace is a folder: choose another path", path=path)
    if must_exist and not (path / CONFIG_NAME).exists() and not (path / STORE_NAME).exists():
        raise WorkspaceError(
            f"no workspace at {path}; create one with `aios init {path} --demo` (or `aios init {path}` for an empty one)",
            path=path,
        )


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
"""A workspace holds clients' mail and money: its folder and files are its owner's alone, whatever the umask."""


def private(path: Path) -> Path:
    """``path`` readable and writable by its owner only (0700 for a folder, 0600 for a file); returns it."""
    try:
        os.chmod(path, PRIVATE_DIR if path.is_dir() else PRIVATE_FILE)
    except FileNotFoundError:
        pass
    return path


def private_tree(root: Path) -> None:
    """Every folder and file under ``root`` (and ``root``) made private."""
    for folder, dirs, files in os.walk(root):
        private(Path(folder))
        for name in files:
            if not os.path.islink(os.path.join(folder, name)):
                private(Path(folder) / name)


def write_private(path: Path, text: str | bytes) -> None:
    """Write ``text`` (or bytes) to ``path`` atomically, created 0600 (never readable by others, even for a moment)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.partial")  # one per process: two writers never share it
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, PRIVATE_FILE)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


def harden(paths: WorkspacePaths) -> None:
    """Tighten a workspace made before it was private (or by a lax umask): the folder 0700, its settings,
    store and secrets 0600. Only the owner can; for anyone else this changes nothing."""
    if paths.root.exists() and paths.root.stat().st_uid == os.geteuid():
        private(paths.root)
        for name in (CONFIG_NAME, STORE_NAME, STORE_NAME + "-wal", STORE_NAME + "-shm", "secrets.enc"):
            private(paths.root / name)


def create(path: Path, *, settings: dict[str, str] | None = None, tables: dict[str, dict] | None = None) -> WorkspacePaths:
    """Create the folders (0700) and a default aios.toml (0600); an existing aios.toml is kept.

    ``tables`` are further tables written into a new aios.toml as given (``{"invoicing": {...}}`` from a
    business folder's business.toml)."""
    check_path(path, must_exist=False)
    paths = WorkspacePaths(path)
    for folder in (path, paths.index, paths.runs, paths.snapshots):
        folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        private(folder)
    if not paths.config.exists():
        values = {"name": path.name, "owner": "", "email": "", "timezone": "UTC", "currency": "EUR", "data_dir": "",
                  "working_hours": "09:00-17:00", "working_days": "Mon-Fri"}
        values.update(settings or {})
        text = DEFAULT_TOML.format(**{k: _toml_string(str(v)) for k, v in values.items()})
        for name, table in (tables or {}).items():
            text += "\n" + _toml_table(name, table)
        Config(_parse(text))  # never write a file we could not read back
        write_private(paths.config, text)
    return paths


def _toml_string(value: str) -> str:
    """``value`` as a TOML basic string: JSON's escapes are TOML's; DEL is escaped too, NULs and lone surrogates
    (which TOML cannot hold) become U+FFFD."""
    import json

    from .._values import clean

    return json.dumps(clean(value), ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_table(name: str, table: dict) -> str:
    """``[name]`` with its keys (text, numbers, booleans, and one level of sub-tables) as TOML."""

    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        return _toml_string(str(v))

    flat = [f"{_toml_string(str(k))} = {value(v)}" for k, v in table.items() if not isinstance(v, dict)]
    subs = [f"\n[{name}.{_toml_string(str(k))}]\n" + "".join(f"{_toml_string(str(sk))} = {value(sv)}\n" for sk, sv in v.items())
            for k, v in table.items() if isinstance(v, dict)]
    return f"[{name}]\n" + "".join(line + "\n" for line in flat) + "".join(subs)


def _parse(text: str) -> dict:
    import tomllib

    from ._config import validate

    return validate(tomllib.loads(text))
