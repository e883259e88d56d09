"""Files the records point at (e-mail attachments), kept in the workspace by their SHA-256.

``attachments/ab/abcdef…``: the name is the hash of the content, so the same
file received twice is stored once, a record names exactly the bytes it saw,
and an edited or truncated file is found by hashing it again
(:meth:`Blobs.check`, run by ``aios verify``). Files are written atomically
(a temporary name, fsync, rename) and readable by the owner only.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .._errors import NotFoundError, WorkspaceError
from ._workspace import PRIVATE_DIR, write_private

_SHA = re.compile(r"^[0-9a-f]{64}$")


class Blobs:
    """A content-addressed folder; see the module docstring."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the content with this hash is (or would be) stored."""
        if not isinstance(sha256, str) or not _SHA.match(sha256):
            raise NotFoundError(f"{sha256!r} is not a SHA-256 (64 lowercase hex digits); pass the hash a record names",
                                id=str(sha256)[:80])
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` (once per content) and return its SHA-256."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if target.is_file() and target.stat().st_size == len(data):
            return sha
        target.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        self.root.chmod(PRIVATE_DIR)
        try:
            write_private(target, data)
        except OSError as exc:
            raise WorkspaceError(f"cannot store an attachment in {self.root} ({exc.strerror}); free disk space or fix the "
                                 "folder's permissions and sync again", path=self.root) from exc
        return sha

    def read(self, sha256: str) -> bytes:
        """The stored content; refused when it no longer matches its hash."""
        path = self.path(sha256)
        if not path.is_file():
            raise NotFoundError(f"no stored attachment {sha256[:12]}… in {self.root}", id=sha256)
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise WorkspaceError(f"the stored attachment {path} was changed after it was received (its hash no longer "
                                 "matches); restore it from a snapshot or sync the message again", path=path)
        return data

    def check(self, sha256: str) -> str | None:
        """What is wrong with the stored content of this hash (missing, changed), or None."""
        path = self.path(sha256)
        if not path.is_file():
            return f"attachment {sha256[:12]}… is missing from {self.root}"
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != sha256:
            return f"attachment {path.name[:12]}… was changed after it was received"
        return None
