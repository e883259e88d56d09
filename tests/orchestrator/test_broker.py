"""The task broker: priorities, idempotent enqueue, leases, delays, limits, dead workers."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from aios_kernel import StateError
from aios_kernel._orchestrator import Broker
from aios_kernel._orchestrator._worker import new_worker_id, owner_alive


def _run(store, run_id: str = "run_t") -> str:
    store.emit("run.submitted", f"run:{run_id}", {"workflow": "w", "params": {}})
    return run_id


@pytest.fixture
def broker(store):
    _run(store)
    return Broker(store, lease_s=30)


def test_enqueue_is_idempotent_per_run_and_name(broker):
    a = broker.enqueue(run_id="run_t", name="x", template="main", agent="a")
    b = broker.enqueue(run_id="run_t", name="x", template="main", agent="a")
    assert a == b
    assert broker.counts("run_t") == {"pending": 1}


def test_lease_takes_highest_priority_first_then_oldest(broker):
    low = broker.enqueue(run_id="run_t", name="low", template="main", agent="a", priority=0)
    high = broker.enqueue(run_id="run_t", name="high", template="main", agent="a", priority=5)
    low2 = broker.enqueue(run_id="run_t", name="low2", template="main", agent="a", priority=0)
    owner = new_worker_id()
    assert [broker.lease(owner)["id"] for _ in range(3)] == [high, low, low2]
    assert broker.lease(owner) is None


def test_delayed_task_is_not_leased_before_it_is_due(broker):
    tid = broker.enqueue(run_id="run_t", name="later", template="main", agent="a", delay_s=0.3)
    owner = new_worker_id()
    assert broker.lease(owner) is None
    assert broker.next_due() > time.time()
    time.sleep(0.35)
    assert broker.lease(owner)["id"] == tid


def test_a_task_is_leased_by_one_worker_only(store, tmp_path):
    from aios_kernel._store import Store

    _run(store)
    other = Store.open(store.path)
    try:
        b1, b2 = Broker(store), Broker(other)
        for i in range(10):
            b1.enqueue(run_id="run_t", name=f"t{i}", template="main", agent="a")
        got = []
        for _ in range(6):
            got += [t["id"] for t in (b1.lease("w1/1/1/a"), b2.lease("w2/2/2/b")) if t]
        assert len(got) == len(set(got)) == 10
    finally:
        other.close()


def test_per_agent_and_per_connector_limits(store):
    _run(store)
    b = Broker(store, agent_limits={"triage": 1}, connector_limits={"ledger": 2})
    for i in range(3):
        b.enqueue(run_id="run_t", name=f"tri{i}", template="main", agent="triage")
    for i in range(3):
        b.enqueue(run_id="run_t", name=f"send{i}", template="main", agent="executor", connectors=["ledger"])
    owner = new_worker_id()
    leased = [b.lease(owner) for _ in range(6)]
    names = sorted(t["name"] for t in leased if t)
    assert names == ["send0", "send1", "tri0"]


def test_state_machine_refuses_illegal_transitions(broker):
    tid = broker.enqueue(run_id="run_t", name="x", template="main", agent="a")
    task = broker.get(tid)
    with pytest.raises(StateError, match="pending"):
        broker.wait(task, owner="w", approval_id="ap_x", reason="r")
    with pytest.raises(StateError, match="not dead-lettered"):
        broker.finish(task, "failed")
        broker.requeue(tid)


def test_finish_rejects_non_terminal_state(broker):
    tid = broker.enqueue(run_id="run_t", name="x", template="main", agent="a")
    with pytest.raises(StateError, match="terminal"):
        broker.finish(broker.get(tid), "running")


def test_expired_lease_is_taken_back_and_heartbeat_keeps_it(store):
    _run(store)
    b = Broker(store, lease_s=0.2)
    tid = b.enqueue(run_id="run_t", name="x", template="main", agent="a")
    remote_owner = "some-other-host/123/456/abc"  # liveness unknown: only the lease counts
    task = b.lease(remote_owner)
    b.heartbeat(tid, remote_owner)
    time.sleep(0.1)
    assert b.reclaim() == []
    time.sleep(0.25)
    assert b.reclaim() == [tid]
    assert b.get(tid)["status"] == "pending"
    assert task["id"] == tid


def test_dead_worker_is_detected_without_waiting_for_the_lease(store):
    _run(store)
    b = Broker(store, lease_s=3600)
    child = subprocess.Popen([sys.executable, "-c",
                              "from aios_kernel._orchestrator._worker import new_worker_id; print(new_worker_id())"],
                             stdout=subprocess.PIPE, text=True)
    owner = child.communicate()[0].strip()
    assert owner_alive(owner) is False
    assert owner_alive(new_worker_id()) is True
    tid = b.enqueue(run_id="run_t", name="x", template="main", agent="a")
    b.lease(owner)
    assert b.reclaim() == [tid]
    events = [e.type for e in store.events(entity=f"queue:{tid}")]
    assert events == ["task.enqueued", "task.leased", "task.lease_expired"]


def test_every_transition_is_an_event(broker, store):
    tid = broker.enqueue(run_id="run_t", name="x", template="main", agent="a")
    owner = new_worker_id()
    task = broker.lease(owner)
    broker.start(task, owner)
    broker.finish(task, "succeeded", owner=owner)
    assert [e.type for e in store.events(entity=f"queue:{tid}")] == [
        "task.enqueued", "task.leased", "task.started", "task.finished"]
    assert store.scalar("SELECT status FROM runs WHERE id='run_t'") == "succeeded"
