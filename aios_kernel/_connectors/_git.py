"""The few git commands publishing needs, run as subprocesses in one repository.

The repository must be the folder itself (``PATH/.git``), never one found
above it: a workspace inside a checkout must not commit to the checkout.
Commits carry trailers (``Aios-Effect: KEY``) that say which effect made
them; :meth:`Git.find` reads them back exactly (``git log --grep`` narrows,
then each message's trailer lines are compared whole, so ``K`` never matches
``K:undo``).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .._errors import ConnectorError

EFFECT = "Aios-Effect"
UNDOES = "Aios-Undoes"


def trailer_value(key: str) -> str:
    """``key`` as a trailer value: itself when printable, else JSON-quoted (a newline would end the trailer)."""
    return key if key.isprintable() and key.strip() == key else json.dumps(key)


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str


class Git:
    """One repository at ``path``; every failure is a ConnectorError that says what to do."""

    def __init__(self, path: Path, *, connector: str, timeout_s: float, name: str, email: str) -> None:
        self.path = Path(path)
        self.connector = connector
        self.timeout_s = timeout_s
        self.identity = ["-c", f"user.name={name}", "-c", f"user.email={email}", "-c", "commit.gpgsign=false"]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_CEILING_DIRECTORIES": str(self.path.parent)}
        try:
            done = subprocess.run(["git", "-C", str(self.path), *self.identity, *args], capture_output=True, text=True,
                                  timeout=self.timeout_s, env=env, check=False)
        except FileNotFoundError:
            raise ConnectorError("git is not installed; install it (apt-get install git) to publish the site",
                                 connector=self.connector) from None
        except subprocess.TimeoutExpired:
            raise ConnectorError(f"git {args[0]} in {self.path} took longer than {self.timeout_s:g}s; it will be tried "
                                 "again", connector=self.connector, transient=True) from None
        if check and done.returncode != 0:
            said = " ".join((done.stderr or done.stdout).split())[:300]
            lock = "index.lock" in said
            raise ConnectorError(f"git {args[0]} failed in {self.path}: {said}"
                                 + ("; if no git command is running there, remove .git/index.lock" if lock else ""),
                                 connector=self.connector, transient=lock)
        return done

    # -- state ----------------------------------------------------------------------------------

    def is_repo(self) -> bool:
        return (self.path / ".git").exists()

    def init(self, branch: str) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.run("init", "-q", "-b", branch)

    def branch(self) -> str | None:
        """The branch checked out (also before its first commit), None when HEAD is detached."""
        done = self.run("symbolic-ref", "-q", "--short", "HEAD", check=False)
        return done.stdout.strip() if done.returncode == 0 else None

    def head(self) -> str | None:
        done = self.run("rev-parse", "-q", "--verify", "HEAD", check=False)
        return done.stdout.strip() if done.returncode == 0 else None

    def dirty(self) -> list[str]:
        """Paths with uncommitted changes, untracked files included (``.gitignore`` respected), as ``XY path``."""
        out = self.run("status", "--porcelain=v1", "-z", "--untracked-files=all").stdout
        return [e for e in out.split("\0") if e]

    def tracked(self, rel: str) -> bool:
        return self.head() is not None and self.run("cat-file", "-e", f"HEAD:{rel}", check=False).returncode == 0

    def find(self, key: str) -> list[Commit]:
        """The commits on the current branch whose ``Aios-Effect`` trailer is exactly ``key``, newest first."""
        if self.head() is None:
            return []
        line = f"{EFFECT}: {trailer_value(key)}"
        out = self.run("log", "--format=%H%x00%B%x01", "--fixed-strings", f"--grep={line}").stdout
        found = []
        for record in out.split("\x01"):
            sha, _, message = record.strip("\n").partition("\0")
            if sha and line in message.splitlines():
                found.append(Commit(sha.strip(), message))
        return found

    # -- changes --------------------------------------------------------------------------------

    def commit(self, rel: str, message: str) -> str:
        self.run("add", "--", rel)
        self.run("commit", "-q", "-m", message, "--", rel)
        head = self.head()
        assert head is not None
        return head

    def revert(self, sha: str, message: str) -> str:
        done = self.run("revert", "--no-commit", sha, check=False)
        if done.returncode != 0:
            self.run("revert", "--abort", check=False)
            self.run("reset", "-q", "--hard", "HEAD", check=False)
            said = " ".join((done.stderr or done.stdout).split())[:300]
            raise ConnectorError(f"the commit {sha[:12]} cannot be reverted in {self.path} ({said}); the post was changed "
                                 "after it was published: take it down by hand", connector=self.connector)
        self.run("commit", "-q", "-m", message)
        head = self.head()
        assert head is not None
        return head
