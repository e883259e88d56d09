"""Publishing: posts (Markdown with front matter) committed to a static site kept in git.

``[connectors.site]`` (``kind = "site"``): ``path`` (the repository, default
``site`` in the workspace: created with ``git init`` on first use when the
folder is missing or empty), ``folder`` (where posts go, default ``posts``),
``branch`` (the branch to publish on; default: the one checked out), and
optionally ``url`` (+ ``token = "secret:NAME"``): an endpoint that is also sent
each post as JSON (``{"action": "publish_post", "post": {...}}``, or
``{"action": "unpublish_post", "undo_of": KEY}``) with the effect's
``Idempotency-Key``, which the endpoint is expected to honour.

Publishing is one commit; taking a post down is a revert commit. Each commit
message ends in the trailer ``Aios-Effect: KEY``, so :meth:`SiteConnector.was_applied`
is ``git log --grep``: a crash between the commit and the outcome is found
there and never committed twice. A repository in a state a commit would
muddle is refused with what to do: uncommitted changes (other than this
post's own file, left by a crash before its commit), a detached HEAD, another
branch than the one configured, a folder that is not a repository.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from .._errors import ConnectorError, OutcomeUnknown, ValidationError
from ._actions import Action, Field
from ._base import Connector, ConnectorEnv
from ._git import EFFECT, UNDOES, Git, trailer_value
from ._http import read, request, shown

PUBLISH = Action("publish_post", (
    Field("title", "text", max_len=300),
    Field("body", "text", max_len=2_000_000, help="the post in Markdown"),
    Field("channel", "text", required=False, max_len=100),
    Field("slug", "id", required=False, help="the post's file name (default: from the title)"),
    Field("date", "text", required=False, max_len=10, help="YYYY-MM-DD (default: today in [workspace] timezone)"),
    Field("tags", "list", required=False),
), reversible=True, compensation="unpublish_post")
UNPUBLISH = Action("unpublish_post", (Field("undo_of", "text", help="the key of the publish_post this takes down"),),
                   reversible=False)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SiteConnector(Connector):
    """Commits posts to a git repository (and optionally sends them to an endpoint); see the module docstring."""

    kind = "site"
    actions: ClassVar[dict[str, Action]] = {"publish_post": PUBLISH, "unpublish_post": UNPUBLISH}

    def __init__(self, name: str, settings: dict[str, Any], env: ConnectorEnv) -> None:
        super().__init__(name, settings)
        self.env = env
        self.path = Path(env.paths.resolve(str(settings.get("path") or "site")))
        self.folder = str(settings.get("folder") or "posts").strip("/") or "posts"
        self.branch = str(settings.get("branch") or "")
        self.url = str(settings.get("url") or "")
        token = settings.get("token") or ""
        self.token = env.secrets.resolve(token, key=f"connectors.{name}.token") if token else None
        self.zone = ZoneInfo(str(env.config.get("workspace.timezone") or "UTC"))
        owner = str(env.config.get("workspace.owner") or "") or "AIOS Workbench"
        self.git = Git(self.path, connector=name, timeout_s=self.timeout_s, name=owner,
                       email=str(env.config.get("workspace.email") or "") or "aios@localhost")

    @classmethod
    def from_settings(cls, name: str, settings: dict[str, Any], env: ConnectorEnv) -> SiteConnector:
        return cls(name, settings, env)

    def describe(self) -> str:
        return f"git {self.path}" + (f" ({self.branch})" if self.branch else "") + (f", then {shown(self.url)}" if self.url else "")

    def check(self, action: str, payload: dict[str, Any]) -> None:
        if action == "publish_post" and payload.get("date") and not _DATE.match(str(payload["date"])):
            raise ValidationError(f"{self.name}.publish_post: date must be YYYY-MM-DD, got {payload['date']!r}", field="date")
        if action == "publish_post" and not _slug(str(payload.get("slug") or payload["title"])):
            raise ValidationError(f"{self.name}.publish_post: the title gives no file name; add a slug", field="slug")

    def preview(self, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        what = (f"commit {self.folder}/{self._name(payload, 'preview')} to {self.describe()}" if action == "publish_post"
                else f"revert the commit of {payload.get('undo_of')} in {self.describe()}")
        return {"connector": self.name, "kind": self.kind, "action": action, "would": what}

    # -- apply --------------------------------------------------------------------------------

    def apply(self, key: str, action: str, payload: dict[str, Any]) -> dict[str, Any]:
        if action == "publish_post":
            return self._publish(key, payload)
        if action == "unpublish_post":
            return self._unpublish(key, str(payload["undo_of"]))
        raise ConnectorError(f"{self.name} cannot {action}", connector=self.name)

    def _publish(self, key: str, payload: dict[str, Any]) -> dict[str, Any]:
        name = self._name(payload, key)
        rel = f"{self.folder}/{name}"
        alternative = f"{self.folder}/{name[:-3]}-{hashlib.sha256(key.encode()).hexdigest()[:6]}.md"
        branch = self._ready(own={rel, alternative})
        found = self.git.find(key)
        if found:
            sha = found[0].sha
            rel = self._path_of(sha) or rel
            receipt = {"commit": sha, "path": rel, "branch": branch, "repo": str(self.path), "already_applied": True}
        else:
            if self.git.tracked(rel):  # another post of that day and title: this one gets its own name
                rel = alternative
            existed = (self.path / rel).exists()
            self._write(rel, key, payload)
            message = (f"Publish: {payload['title']}\n\n{payload.get('channel') or 'site'} post {rel}\n\n"
                       f"{EFFECT}: {trailer_value(key)}\n")
            try:
                sha = self.git.commit(rel, message)
            except ConnectorError:
                # leave the tree as it was: a half-made publish must not block the next one
                self.git.run("reset", "-q", "--", rel, check=False)
                if not existed:
                    (self.path / rel).unlink(missing_ok=True)
                raise
            receipt = {"commit": sha, "path": rel, "branch": branch, "repo": str(self.path)}
        if self.url:
            receipt["remote"] = self._remote(key, {"action": "publish_post", "post": {**payload, "path": rel,
                                                                                      "commit": sha}})
        return receipt

    def _unpublish(self, key: str, undo_of: str) -> dict[str, Any]:
        branch = self._ready(own=set())
        done = self.git.find(key)
        if done:
            receipt: dict[str, Any] = {"revert": done[0].sha, "branch": branch, "repo": str(self.path),
                                       "already_applied": True}
        else:
            published = self.git.find(undo_of)
            if not published:
                return {"revert": None, "undo_of": undo_of, "repo": str(self.path),
                        "note": "nothing to take down: it was never committed on this branch"}
            original = published[0]
            title = original.message.splitlines()[0].removeprefix("Publish: ")
            message = (f"Take down: {title}\n\nThis reverts commit {original.sha}.\n\n"
                       f"{EFFECT}: {trailer_value(key)}\n{UNDOES}: {trailer_value(undo_of)}\n")
            receipt = {"revert": self.git.revert(original.sha, message), "reverts": original.sha, "branch": branch,
                       "repo": str(self.path)}
        if self.url:
            receipt["remote"] = self._remote(key, {"action": "unpublish_post", "undo_of": undo_of})
        return receipt

    def _ready(self, *, own: set[str]) -> str:
        """The branch to commit on, after checking the repository is fit for a commit (created when missing)."""
        if not self.git.is_repo():
            if self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir())):
                raise ConnectorError(f"{self.path} exists but is not a git repository; run `git init` there (or point "
                                     f"[connectors.{self.name}] path at the site's repository)", connector=self.name)
            self.git.init(self.branch or "main")
        branch = self.git.branch()
        if branch is None:
            head = (self.git.head() or "")[:12]
            raise ConnectorError(f"the site repository {self.path} has a detached HEAD (at {head}); check out the branch "
                                 f"to publish on (git -C {self.path} switch {self.branch or 'main'}), then try again",
                                 connector=self.name)
        if self.branch and branch != self.branch:
            raise ConnectorError(f"the site repository {self.path} is on branch {branch!r}, not {self.branch!r}; switch "
                                 f"(git -C {self.path} switch {self.branch}) or change [connectors.{self.name}] branch",
                                 connector=self.name)
        others = [e for e in self.git.dirty() if e[3:] not in own]  # a crash may leave this post's own file
        if others:
            shown_paths = ", ".join(e.strip() for e in others[:5]) + (" ..." if len(others) > 5 else "")
            raise ConnectorError(f"the site repository {self.path} has uncommitted changes ({shown_paths}); commit or "
                                 f"stash them (git -C {self.path} stash -u), then try again: a publish commits only its "
                                 "post", connector=self.name)
        return branch

    def _path_of(self, sha: str) -> str | None:
        out = self.git.run("show", "--name-only", "--format=", sha, check=False).stdout.split()
        return out[0] if out else None

    def _name(self, payload: dict[str, Any], key: str) -> str:
        day = str(payload.get("date") or datetime.now(self.zone).date().isoformat())
        return f"{day}-{_slug(str(payload.get('slug') or payload['title']))}.md"

    def _write(self, rel: str, key: str, payload: dict[str, Any]) -> None:
        import frontmatter

        meta: dict[str, Any] = {"title": payload["title"], "date": payload.get("date") or rel.split("/")[-1][:10]}
        for field_name in ("channel", "tags"):
            if payload.get(field_name):
                meta[field_name] = payload[field_name]
        text = frontmatter.dumps(frontmatter.Post(payload["body"], **meta), sort_keys=False) + "\n"
        target = self.path / rel
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConnectorError(f"cannot write {target}: {exc}", connector=self.name, transient=True) from None

    def _remote(self, key: str, body: dict[str, Any]) -> dict[str, Any]:
        stages = self.env.journal.stages(key)
        if "remote" in stages:
            return {"endpoint": shown(self.url), "sent_at": stages["remote"]}
        try:
            answer = request("POST", self.url, connector=self.name, key=key, timeout_s=self.timeout_s, token=self.token,
                             body=body, action=str(body["action"]))
            data = read(answer, connector=self.name, url=self.url, what=f"{body['action']} ({key})")
        except ConnectorError as exc:
            # the commit is made (and found again by its key); the endpoint honours Idempotency-Key, so sending the
            # same call again is safe: an unanswered one is retried like a refused-for-now one
            again = exc.transient or isinstance(exc, OutcomeUnknown)
            raise ConnectorError(f"{exc}; the commit is made" + (", the endpoint is sent the post again on the retry"
                                                                  if again else ""),
                                 connector=self.name, transient=again, retry_after=exc.retry_after) from None
        self.env.journal.mark(key, "remote", shown(self.url))
        return {"endpoint": shown(self.url), "status": answer.status, "response": data if len(str(data)) < 2000 else {}}

    # -- was it applied? ------------------------------------------------------------------------

    def was_applied(self, key: str) -> dict[str, Any] | None:
        if not self.git.is_repo() or self.git.branch() is None:
            return None
        found = self.git.find(key)
        if not found:
            return None
        if self.url and "remote" not in self.env.journal.stages(key):
            return None  # committed, not yet sent: the task applies it (no second commit; the endpoint gets it once)
        return {"commit": found[0].sha, "repo": str(self.path), "branch": self.git.branch()}

    def retract(self, key: str) -> None:
        self.env.journal.forget(key)

    # -- reading the site -----------------------------------------------------------------------

    def history(self) -> list[dict[str, str]]:
        """Every commit on the branch that an effect made: sha, effect key, what it undoes, subject; oldest first."""
        if not self.git.is_repo() or self.git.head() is None:
            return []
        out = self.git.run("log", "--reverse", "--format=%H%x00%B%x01").stdout
        rows = []
        for record in out.split("\x01"):
            sha, _, message = record.strip("\n").partition("\0")
            trailers = dict(line.split(": ", 1) for line in message.splitlines() if line.startswith(f"{EFFECT}: ")
                            or line.startswith(f"{UNDOES}: "))
            if sha and EFFECT in trailers:
                rows.append({"commit": sha.strip(), "key": trailers[EFFECT], "undoes": trailers.get(UNDOES, ""),
                             "subject": message.splitlines()[0] if message else ""})
        return rows


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")
