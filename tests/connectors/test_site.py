"""Publishing to a static site kept in git: a commit per post, a revert to take one down, the key in the history.

The crash test kills the publishing process for real: a ``post-commit`` hook
in the site's repository (git runs it right after the commit exists) sends
SIGKILL to the Python process that asked git to commit, so the commit is made
and its outcome is never recorded. After a restart the history must still hold
exactly one publish commit and, after the take-down (crashed the same way),
exactly one revert.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aios_kernel import ConnectorError
from tests.connectors.httpd import Endpoint
from tests.orchestrator.conftest import make_fast

POST = {"title": "Three lessons from a showroom visit", "body": "- Ask for the swatch log\n- Walk the floor", "channel": "blog",
        "date": "2026-11-20"}
CTX = {"run_id": "run_site", "task_id": "task_site", "step": "publish"}
CRASH_HOOK = """#!/bin/sh
marker="$(git rev-parse --git-dir)/crash-after-next-commit"
if [ -f "$marker" ]; then
  rm -f "$marker"
  kill -9 "$(cut -d' ' -f4 /proc/$PPID/stat)"
fi
"""
CHILD = """
import sys
from aios_kernel import Workbench

ws, phase = sys.argv[1], sys.argv[2]
with Workbench.open(ws) as wb:
    if phase == "publish":
        run = wb.run("weekly_content", {"week": "2026-W47"}, idempotency_key="week-47")
        [approval] = wb.approvals.pending()
        approval.approve()
        wb.run_pending(run_id=run.id)
    else:
        key, run_id = sys.argv[3], sys.argv[4]
        wb.orchestrator.outbox.execute(key=key + ":undo", connector="site", action="unpublish_post",
                                       payload={"undo_of": key}, run_id=run_id, task_id="task_take_down", step="publish")
print("finished", flush=True)
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def trailers(repo: Path) -> list[str]:
    """The ``Aios-Effect`` lines of every commit, newest first, read with git itself."""
    return [ln for msg in git(repo, "log", "--format=%B%x00").split("\0") for ln in msg.splitlines()
            if ln.startswith("Aios-Effect: ")]


def scaffold(repo: Path) -> None:
    """A site as its owner set it up: a repository with a README and a theme, one commit on main."""
    repo.mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# Lindgren Advisory\n")
    (repo / "theme.css").write_text("body { font-family: serif; }\n")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=Maja", "-c", "user.email=maja@example.org", "commit", "-q", "-m", "Site scaffold")


def real_site(ws: Path, extra: str = "") -> None:
    """Undo the fast settings' routing of ``site`` to the ledger: posts go to the git repository."""
    cfg = ws / "aios.toml"
    text = cfg.read_text().replace('[connectors.site]\nkind = "ledger"\n', "[connectors.site]\n" + extra, 1)
    cfg.write_text(text.replace('path = "ledger.jsonl"\nfolder = "posts"', 'path = "site"\nfolder = "posts"', 1))


@pytest.fixture
def site_ws(demo_ws: Path) -> Path:
    make_fast(demo_ws)
    real_site(demo_ws)
    scaffold(demo_ws / "site")
    return demo_ws


@pytest.mark.slow
def test_a_publish_a_revert_and_a_crash_between_commit_and_outcome_give_one_commit_and_one_revert(site_ws: Path) -> None:
    from aios_kernel import Workbench

    repo = site_ws / "site"
    hook = repo / ".git" / "hooks" / "post-commit"
    hook.write_text(CRASH_HOOK)
    hook.chmod(0o755)

    def crashed(*args: str) -> None:
        (repo / ".git" / "crash-after-next-commit").write_text("")
        child = subprocess.run([sys.executable, "-c", CHILD, str(site_ws), *args], capture_output=True, text=True,
                               timeout=300)
        assert child.returncode == -9 and "finished" not in child.stdout, child.stderr[-2000:]

    crashed("publish")  # killed right after the publish commit, before its outcome was recorded
    assert len(trailers(repo)) == 1
    with Workbench.open(site_ws) as wb:
        [run] = [r for r in wb.runs() if r.workflow == "weekly_content"]
        [effect] = [e for e in run.effects if e["action"] == "publish_post"]
        assert effect["status"] == "intended"
        wb.resume()
        assert run.status == "succeeded"
        [effect] = [e for e in run.effects if e["action"] == "publish_post"]
        assert effect["status"] == "applied" and effect["reconciled"] == 1
        key = effect["key"]
        wb.resume()
    assert trailers(repo) == [f"Aios-Effect: {key}"]
    [post] = (repo / "posts").glob("*.md")
    assert post.read_text().startswith("---\ntitle: ") and "# Weekly post" in post.read_text()

    crashed("take-down", key, run.id)  # killed right after the revert commit
    with Workbench.open(site_ws) as wb:
        assert wb.orchestrator.outbox.get(f"{key}:undo")["status"] == "intended"
        assert dict(wb.orchestrator.outbox.reconcile())[f"{key}:undo"].startswith("applied before the crash")
        again = wb.orchestrator.outbox.execute(key=f"{key}:undo", connector="site", action="unpublish_post",
                                               payload={"undo_of": key}, run_id=run.id, task_id="task_take_down",
                                               step="publish")
        assert again["commit"] == git(repo, "rev-parse", "HEAD").strip()
        history = wb.connectors.get("site").history()
    assert trailers(repo) == [f"Aios-Effect: {key}:undo", f"Aios-Effect: {key}"]
    assert int(git(repo, "rev-list", "--count", "HEAD")) == 3  # the scaffold, one publish, one revert
    assert [h["undoes"] for h in history] == ["", key] and "Take down: " in history[1]["subject"]
    assert not list((repo / "posts").glob("*.md")) and (repo / "README.md").exists()
    assert git(repo, "status", "--porcelain") == ""


def test_a_dirty_repository_a_detached_head_another_branch_or_no_repository_is_a_clear_error(site_ws: Path) -> None:
    from aios_kernel import Workbench

    repo = site_ws / "site"
    head = git(repo, "rev-parse", "HEAD").strip()

    def refused(wb: Any, key: str) -> str:
        with pytest.raises(ConnectorError) as err:
            wb.orchestrator.outbox.execute(key=key, connector="site", action="publish_post", payload=POST, **CTX)
        assert not err.value.transient
        assert git(repo, "rev-parse", "HEAD").strip() == head and not (repo / "posts").exists()
        return str(err.value)

    with Workbench.open(site_ws) as wb:
        (repo / "README.md").write_text("# Lindgren Advisory\n\nhalf-written notes\n")
        (repo / "draft.md").write_text("an idea\n")
        said = refused(wb, "k-dirty")
        assert "uncommitted changes (M README.md, ?? draft.md)" in said and "stash" in said
        git(repo, "checkout", "-q", "--", "README.md")
        (repo / "draft.md").unlink()

        git(repo, "checkout", "-q", "--detach")
        said = refused(wb, "k-detached")
        assert f"detached HEAD (at {head[:12]})" in said and "switch main" in said
        git(repo, "checkout", "-q", "main")

    cfg = site_ws / "aios.toml"
    cfg.write_text(cfg.read_text().replace("[connectors.site]\n", '[connectors.site]\nbranch = "live"\n', 1))
    with Workbench.open(site_ws) as wb:
        said = refused(wb, "k-branch")
        assert "on branch 'main', not 'live'" in said

    cfg.write_text(cfg.read_text().replace('branch = "live"\n', "").replace('path = "site"', 'path = "notes"', 1))
    (site_ws / "notes").mkdir()
    (site_ws / "notes" / "todo.txt").write_text("not a site\n")
    with Workbench.open(site_ws) as wb:
        with pytest.raises(ConnectorError) as err:
            wb.orchestrator.outbox.execute(key="k-norepo", connector="site", action="publish_post", payload=POST, **CTX)
        assert "is not a git repository; run `git init` there" in str(err.value) and not err.value.transient
        assert not (site_ws / "notes" / ".git").exists()


def test_an_approved_post_into_a_dirty_repository_fails_its_task_with_what_to_do(site_ws: Path) -> None:
    from aios_kernel import Workbench

    repo = site_ws / "site"
    (repo / "theme.css").write_text("body { font-family: sans-serif; }\n")
    with Workbench.open(site_ws) as wb:
        run = wb.run("weekly_content", {"week": "2026-W47"})
        [approval] = wb.approvals.pending()
        approval.approve()
        wb.run_pending(run_id=run.id)
        assert run.status == "failed"
        assert "uncommitted changes (M theme.css)" in run.error and "not retried" in run.error
        [effect] = run.effects
        assert effect["status"] == "failed" and "stash" in effect["error"]
    assert trailers(repo) == []


def test_a_new_workspace_gets_its_site_repository_on_the_first_post_and_the_endpoint_gets_each_post_once(
        tmp_path: Path) -> None:
    from aios_kernel import Workbench

    endpoint = Endpoint()
    try:
        ws = tmp_path / "ws"
        Workbench.init(ws).close()
        cfg = ws / "aios.toml"
        cfg.write_text(cfg.read_text().replace("[connectors.site]\n", f'[connectors.site]\nurl = "{endpoint.url("/posts")}"\n'
                                               "breaker_failures = 10\n", 1))
        with Workbench.open(ws) as wb:
            outbox = wb.orchestrator.outbox
            endpoint.provoke("throttle", times=1, retry_after="0")
            with pytest.raises(ConnectorError) as err:  # committed; the endpoint said "later"
                outbox.execute(key="k-post", connector="site", action="publish_post", payload=POST, **CTX)
            assert err.value.transient and "the commit is made" in str(err.value)
            assert wb.connectors.get("site").was_applied("k-post") is None  # not yet everywhere: its task goes on
            receipt = outbox.execute(key="k-post", connector="site", action="publish_post", payload=POST, **CTX)
            assert receipt["already_applied"] and receipt["remote"]["status"] == 201
            outbox.execute(key="k-post:undo", connector="site", action="unpublish_post", payload={"undo_of": "k-post"},
                           **CTX)
        repo = ws / "site"
        assert git(repo, "branch", "--show-current").strip() == "main"
        assert trailers(repo) == ["Aios-Effect: k-post:undo", "Aios-Effect: k-post"]
        calls = endpoint.calls()
        assert [c.headers["Idempotency-Key"] for c in calls] == ["k-post", "k-post", "k-post:undo"]
        assert [c.json()["action"] for c in calls] == ["publish_post", "publish_post", "unpublish_post"]
        assert sorted(endpoint.stored) == ["k-post", "k-post:undo"]
        assert endpoint.stored["k-post"]["body"]["post"]["title"] == POST["title"]
        assert endpoint.stored["k-post"]["body"]["post"]["commit"] == git(repo, "rev-parse", "HEAD~1").strip()
    finally:
        endpoint.stop()
