"""Claims in the store: each tick once whoever decides it, overlap policies, recovery, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aios_kernel._errors import ConfigError, NotFoundError, StateError, ValidationError
from aios_kernel._scheduler import PipelineRuns, Schedules, me
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures"
T0 = datetime(2025, 6, 2, 6, 59, tzinfo=UTC)


@pytest.fixture
def book(store):  # noqa: ANN001, ANN201
    return Schedules(store, notebooks_dir=REPO / "notebooks")


def add(book: Schedules, name: str, cron: str = "0 7 * * *", **kw: object):  # noqa: ANN201
    return book.add(name, str(FIXTURES / "pipeline_params.ipynb"), cron, timezone="UTC", **kw)


def test_two_processes_deciding_the_same_minutes_claim_each_tick_once(store, book, tmp_path: Path) -> None:  # noqa: ANN001
    add(book, "every_minute", "* * * * *", overlap="allow")
    add(book, "every_5", "*/5 * * * *", overlap="allow")
    outs = [tmp_path / f"claims-{i}.json" for i in range(2)]
    procs = [subprocess.Popen([sys.executable, "-m", "tests.scheduler._claimer", str(store.path), T0.isoformat(), "120", str(o)],
                              cwd=REPO, stderr=subprocess.PIPE, text=True) for o in outs]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
        assert "locked" not in err
    claims = [c for o in outs for c in json.loads(o.read_text())]
    keys = [k for _, k in claims]
    assert len(keys) == len(set(keys))  # no tick twice
    runs = PipelineRuns(store).list()
    assert len(runs) == len(claims) == len({r.tick_key for r in runs})
    per = {n: sum(1 for r in runs if r.schedule == n) for n in ("every_minute", "every_5")}
    # the first decision looks back the 5-minute grace ((06:54, 06:59]), then every minute 07:00..08:58
    assert per == {"every_minute": 5 + 119, "every_5": 1 + 24}, per


def _finish(runs: PipelineRuns, run_id: str) -> None:
    assert runs.start_attempt(run_id) == 1
    assert runs.end(run_id, "succeeded")
    assert not runs.end(run_id, "failed")  # a run ends once


@pytest.mark.parametrize("policy", ["skip", "buffer_one", "cancel_other", "allow"])
def test_overlap_policies(store, book, policy: str) -> None:  # noqa: ANN001
    st = add(book, "often", "*/10 * * * *", overlap=policy)
    runs = PipelineRuns(store)
    first = runs.claim_due(st, datetime(2025, 6, 2, 7, 0, tzinfo=UTC)).pending
    assert len(first) == 1
    runs.start_attempt(first[0].id)  # still running when the next two ticks come due
    c1 = runs.claim_due(st, datetime(2025, 6, 2, 7, 10, tzinfo=UTC))
    c2 = runs.claim_due(st, datetime(2025, 6, 2, 7, 20, tzinfo=UTC))
    if policy == "skip":
        assert not c1.pending and not c2.pending and len(c1.skipped) == len(c2.skipped) == 1
        assert "overlap = skip" in runs.get(c1.skipped[0]).reason
    elif policy == "buffer_one":
        assert len(c1.queued) == 1 and len(c2.skipped) == 1 and not c2.queued
        assert not runs.claim_queued()  # the first run is still going
        runs.end(first[0].id, "succeeded")
        released = runs.claim_queued()
        assert [r.id for r in released] == c1.queued and released[0].status == "pending"
    elif policy == "cancel_other":
        assert c1.cancelled == [first[0].id] and len(c1.pending) == 1
        assert runs.get(first[0].id).cancel_requested
    else:
        assert len(c1.pending) == 1 and len(c2.pending) == 1
    keys = [r.tick_key for r in runs.list()]
    assert len(keys) == len(set(keys)) == 3


def test_a_run_of_a_dead_process_is_crashed_and_a_pending_one_adopted(store, book) -> None:  # noqa: ANN001
    st = add(book, "daily", overlap="allow", catch_up="all")
    runs = PipelineRuns(store)
    dead = subprocess.run([sys.executable, "-c", "from aios_kernel._scheduler import me; print(me())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    c = runs.claim_due(st, datetime(2025, 6, 2, 7, 1, tzinfo=UTC), owner=dead)
    run_id = c.pending[0].id
    assert runs.start_attempt(run_id, executor=dead, owner=dead) == 1
    c2 = runs.claim_due(st, datetime(2025, 6, 3, 7, 1, tzinfo=UTC), owner=dead)
    assert runs.recover() == [run_id]
    r = runs.get(run_id)
    assert r.status == "crashed" and "died" in r.error and r.ended_at
    assert runs.recover() == []  # once
    adopted = runs.orphans(owner=me())
    assert [a.id for a in adopted] == [c2.pending[0].id] and adopted[0].owner == me()


def test_bad_schedules_name_the_field_and_write_nothing(store, book) -> None:  # noqa: ANN001
    before = store.last_seq()
    nb = str(FIXTURES / "pipeline_params.ipynb")
    cases = [
        (dict(notebook=nb, cron="0 7 * *"), "cron"),
        (dict(notebook=nb, cron="61 7 * * *"), "cron"),
        (dict(notebook=nb, cron="0 7 * * *", timezone="Europe/Berln"), "timezone"),
        (dict(notebook=nb, cron="0 7 * * *", parameters={"n": "many"}), "parameters.n"),
        (dict(notebook=nb, cron="0 7 * * *", parameters={"count": 3}), "parameters.count"),
        (dict(notebook=nb, cron="0 7 * * *", parameters={"flag": 1}), "parameters.flag"),
        (dict(notebook=nb, cron="0 7 * * *", overlap="sometimes"), "overlap"),
        (dict(notebook=nb, cron="0 7 * * *", timeout_s=0), "timeout_s"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationError) as err:
            book.add("bad", kwargs.pop("notebook"), kwargs.pop("cron"), timezone=kwargs.pop("timezone", "UTC"), **kwargs)
        assert err.value.field == field, (field, str(err.value))
        assert field.split(".")[-1] in str(err.value)
    with pytest.raises(NotFoundError, match="does not exist"):
        book.add("bad", "no_such.ipynb", "0 7 * * *")
    assert store.last_seq() == before and "bad" not in book
    add(book, "good")
    with pytest.raises(StateError, match="--replace"):
        add(book, "good")
    assert add(book, "good", replace=True, parameters={"n": "5"}).schedule.parameters == {"n": 5}


def test_config_schedules_are_synced_and_a_bad_one_names_its_key(store, book) -> None:  # noqa: ANN001
    nb = str(FIXTURES / "pipeline_params.ipynb")
    assert book.sync({"digest": {"notebook": nb, "cron": "0 17 * * FRI", "timezone": "Europe/Berlin"}}) == ["added digest"]
    assert book.sync({"digest": {"notebook": nb, "cron": "0 17 * * FRI", "timezone": "Europe/Berlin"}}) == []
    assert book.get("digest").schedule.source == "config"
    with pytest.raises(StateError, match="aios.toml"):
        book.remove("digest")
    with pytest.raises(ConfigError) as err:
        book.sync({"digest": {"notebook": nb, "cron": "0 17 * * FRY", "timezone": "Europe/Berlin"}})
    assert err.value.key == "schedule.digest.cron"
    assert book.sync({}) == ["removed digest"]


def test_pause_and_resume_skip_the_paused_ticks(store, book) -> None:  # noqa: ANN001
    add(book, "daily")
    runs = PipelineRuns(store)
    first = runs.claim_due(book.get("daily"), datetime(2025, 6, 2, 7, 1, tzinfo=UTC)).pending
    assert len(first) == 1
    _finish(runs, first[0].id)
    book.pause("daily")
    assert not runs.claim_due(book.get("daily"), datetime(2025, 6, 3, 7, 1, tzinfo=UTC)).pending
    book.resume("daily")
    c = runs.claim_due(book.get("daily"), datetime(2025, 6, 5, 7, 2, tzinfo=UTC))
    assert [r.scheduled_for for r in c.pending] == ["2025-06-05T07:00:00+00:00"] and not c.skipped
