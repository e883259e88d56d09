"""The runner: steps in order, a checkpoint per step, retries, dead letters, sagas, guards, bad input."""

from __future__ import annotations

import pytest

from aios_kernel import AgentResult, Step, ValidationError, WorkflowError
from aios_kernel._orchestrator import _retry

from .conftest import ledger_lines
from .helpers import add_one, agent, define, render_effect


def test_steps_run_in_order_with_a_checkpoint_and_agent_version_each(twb):
    agent("t.add", add_one, version="7")
    define("t_chain", [Step("a", "t.add", {"value": "$params.start"}), Step("b", "t.add", {"value": "$a.value"}),
                       Step("c", "t.add", {"value": "$b.value"})],
           params={"start": __import__("aios_kernel").Param(int, 0)})
    run = twb.run("t_chain", {"start": 10})
    assert run.status == "succeeded"
    steps = run.task("main").steps
    assert [(s["name"], s["outputs"]["value"], s["agent_version"]) for s in steps] == [("a", 11, "7"), ("b", 12, "7"),
                                                                                         ("c", 13, "7")]
    spans = twb.trace(run.id)
    step_spans = spans.filter(spans["kind"] == "step")
    assert step_spans["agent_version"].to_list() == ["7", "7", "7"]
    assert set(spans["kind"].to_list()) >= {"run", "task", "step"}


def test_guard_false_records_a_skipped_step(twb):
    agent("t.add", add_one)
    define("t_guard", [Step("a", "t.add"), Step("b", "t.add", when="not $a.value"), Step("c", "t.add", when="$a.value")])
    run = twb.run("t_guard")
    assert [s["status"] for s in run.task().steps] == ["succeeded", "skipped", "succeeded"]


def test_transient_errors_retry_with_backoff_then_succeed(twb):
    calls = []

    def flaky(ctx):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) < 3:
            raise TimeoutError("slow target (provoked)")
        return {"ok": True}

    agent("t.flaky", flaky)
    define("t_retry", [Step("a", "t.flaky")])
    run = twb.run("t_retry")
    assert run.status == "succeeded" and len(calls) == 3
    retries = twb.store.events(type="task.retry_scheduled", correlation_id=run.id)
    assert [e.payload["error_type"] for e in retries] == ["transient", "transient"]
    assert all(e.payload["delay_s"] > 0 for e in retries)
    failed_spans = twb.trace(run.id).filter(twb.trace(run.id)["status"] == "error")
    assert failed_spans.height == 2


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    import random

    rng = random.Random(1)
    delays = [_retry.backoff(n, base=1.0, cap=8.0, rng=rng) for n in range(1, 7)]
    for n, d in enumerate(delays, start=1):
        full = min(8.0, 2 ** (n - 1))
        assert full / 2 <= d <= full
    assert _retry.tries("invalid", 3) == 1 and _retry.tries("transient", 3) == 5 and _retry.tries("error", 3) == 3


def test_invalid_input_fails_at_once_with_the_step_named(twb):
    def strict(ctx, *, n):  # type: ignore[no-untyped-def]
        raise ValidationError("n must be even", field="n")

    agent("t.strict", strict, inputs={"n": int})
    define("t_invalid", [Step("a", "t.strict", {"n": 3})])
    run = twb.run("t_invalid")
    assert run.status == "failed"
    assert "step 'a'" in run.error and "n must be even" in run.error
    task = run.task()
    assert task.attempts == 1 and not task.dead_letter


def test_agent_bug_is_retried_then_dead_lettered_and_can_be_requeued(twb):
    state = {"broken": True, "calls": 0}

    def buggy(ctx):  # type: ignore[no-untyped-def]
        state["calls"] += 1
        if state["broken"]:
            raise RuntimeError("division by zero in the agent (provoked)")
        return {"ok": 1}

    agent("t.buggy", buggy)
    define("t_dead", [Step("a", "t.buggy")])
    run = twb.run("t_dead")
    task = run.task()
    assert run.status == "failed" and task.dead_letter and state["calls"] == 3
    assert "dead-lettered" in task.error
    assert [t["id"] for t in twb.orchestrator.broker.dead_letters()] == [task.id]
    state["broken"] = False
    twb.requeue(task.id)
    twb.run_pending()
    assert run.status == "succeeded"


def test_wrong_input_type_and_garbage_output_are_clear_errors(twb):
    agent("t.typed", lambda ctx, *, n: {"n": n}, inputs={"n": int}, outputs={"n": int})
    agent("t.garbage", lambda ctx: ["not", "a", "dict"])
    define("t_types", [Step("a", "t.typed", {"n": "three"})])
    define("t_garbage", [Step("a", "t.garbage")])
    r1 = twb.run("t_types")
    r2 = twb.run("t_garbage")
    assert r1.status == "failed" and "input 'n' must be int" in r1.error
    assert r2.status == "failed" and "return a dict of outputs" in r2.error


def test_saga_compensates_completed_steps_in_reverse(twb, fast_ws):
    undone = []

    class Reserve(__import__("aios_kernel").Agent):
        name = "t.reserve"
        version = "2"

        def run(self, ctx):  # type: ignore[no-untyped-def]
            return AgentResult({"number": "N-1"})

        def compensate(self, ctx, outputs):  # type: ignore[no-untyped-def]
            undone.append(outputs["number"])
            return {"released": outputs["number"]}

    from aios_kernel import register_agent

    register_agent(Reserve(), replace=True)
    agent("t.render", render_effect)
    agent("t.boom", lambda ctx: (_ for _ in ()).throw(ValidationError("the bank refused the mandate", field="iban")))
    twb.config.data["policies"]["actions"]["t_issue"] = "auto"
    define("t_saga", [Step("reserve", "t.reserve", compensate="agent:t.reserve"),
                      Step("issue", "t.render", {"text": "invoice"}, action="t_issue", compensate="t_void"),
                      Step("notify", "t.boom")])
    run = twb.run("t_saga")
    assert run.status == "compensated"
    steps = run.task().steps
    undo = [s for s in steps if s["phase"] == "undo"]
    assert [s["name"] for s in sorted(undo, key=lambda s: s["ended_at"])] == ["issue", "reserve"]
    assert undone == ["N-1"]
    lines = ledger_lines(fast_ws)
    assert [line["action"] for line in lines] == ["t_issue", "t_void"]
    assert lines[1]["key"] == lines[0]["key"] + ":undo"


def _book_then_send(twb) -> None:  # type: ignore[no-untyped-def]
    """``t_cancel``: book a room (automatic, undone by ``t_unbook``), then send an invitation (reviewed)."""
    agent("t.render", render_effect)
    twb.config.data["policies"]["actions"]["t_book"] = "auto"
    twb.config.data["policies"]["actions"]["t_send"] = "review"
    define("t_cancel", [Step("book", "t.render", {"text": "room"}, action="t_book", compensate="t_unbook"),
                        Step("send", "t.render", {"text": "invitation"}, action="t_send")])


def test_cancelling_a_run_that_waits_undoes_its_completed_steps_once(twb, fast_ws):
    _book_then_send(twb)
    define("t_untouched", [Step("send", "t.render", {"text": "note"}, action="t_send")])
    run = twb.run("t_cancel", idempotency_key="offsite")
    other = twb.run("t_untouched")
    assert run.status == other.status == "waiting_approval"
    [approval] = [a for a in twb.approvals.pending() if a.run_id == run.id]
    twb.orchestrator.cancel(run.id, "the offsite moved to spring")
    assert run.status == "cancelled" and "the offsite moved to spring" in run.task().error
    assert twb.approvals.get(approval.id).status == "rejected"
    assert [s["name"] for s in run.task().steps if s["phase"] == "undo"] == ["book"]
    assert [(line["action"], line["key"]) for line in ledger_lines(fast_ws)] == [
        ("t_book", "offsite/main/book"), ("t_unbook", "offsite/main/book:undo")]
    twb.orchestrator.cancel(run.id)  # again: nothing is waiting any more, nothing is undone twice
    twb.run_pending()
    assert len(ledger_lines(fast_ws)) == 2
    assert other.status == "waiting_approval"  # another run's approval is left alone


def test_a_cancel_cut_short_before_its_tasks_settle_is_finished_by_resume(twb, fast_ws, monkeypatch):
    _book_then_send(twb)
    run = twb.run("t_cancel")

    def crash(*args, **kwargs):  # a fake: the process dies after the decision, before the task settles
        raise SystemExit("killed")

    monkeypatch.setattr(twb.orchestrator, "run_pending", crash)
    with pytest.raises(SystemExit):
        twb.orchestrator.cancel(run.id, "the offsite moved to spring")
    monkeypatch.undo()
    assert run.status != "cancelled" and twb.approvals.pending() == []
    twb.resume()
    assert run.status == "cancelled"
    assert [line["action"] for line in ledger_lines(fast_ws)] == ["t_book", "t_unbook"]


def test_unknown_workflow_and_bad_params_raise_and_are_recorded(twb):
    with pytest.raises(WorkflowError, match="unknown workflow 'inbox_triag'.*did you mean 'inbox_triage'") as err:
        twb.submit("inbox_triag", {})
    with pytest.raises(ValidationError) as bad:
        twb.submit("invoicing", {"month": "2026-13"})
    assert bad.value.field == "month" and "YYYY-MM" in str(bad.value)
    with pytest.raises(ValidationError) as unknown:
        twb.submit("invoicing", {"mnth": "2026-10"})
    assert unknown.value.field == "mnth"
    rejected = twb.runs(status="failed")
    assert len(rejected) == 3
    assert twb.trace(err.value.run_id)["status"].to_list() == ["error"]


def test_same_idempotency_key_returns_the_same_run(twb):
    a = twb.submit("invoicing", {"month": "2026-10"}, idempotency_key="oct-invoices")
    b = twb.submit("invoicing", {"month": "2026-10"}, idempotency_key="oct-invoices")
    assert a.id == b.id
    assert len(twb.runs(workflow="invoicing")) == 1
    with pytest.raises(ValidationError, match="other parameters"):
        twb.submit("invoicing", {"month": "2026-11"}, idempotency_key="oct-invoices")


def test_workflow_with_a_dangling_reference_is_refused_at_definition():
    with pytest.raises(WorkflowError, match=r"\$nope"):
        define("t_bad", [Step("a", "t.add", {"value": "$nope.value"})])


def test_a_worker_that_lost_its_lease_cannot_checkpoint(twb):
    """While a slow step runs, its lease lapses and another worker takes the task: the slow result is dropped."""
    broker = twb.orchestrator.broker

    def slow(ctx):  # type: ignore[no-untyped-def]
        task = broker.get(ctx.task_id)
        broker._transition(ctx.task_id, "task.lease_expired", {"previous_owner": task["owner"], "reason": "lapsed (provoked)"})
        broker.lease("otherhost/1/1/other", run_id=ctx.run_id)
        return {"late": True}

    agent("t.slow", slow)
    define("t_lost", [Step("a", "t.slow")])
    run = twb.submit("t_lost")
    twb.run_pending()
    task = run.task()
    assert task.status == "leased" and task.owner == "otherhost/1/1/other"
    assert task.steps == []  # the slow worker's checkpoint was refused
    assert run.status == "running"


def test_checkpoint_outputs_are_read_from_their_event_and_survive_a_rebuild(twb):
    import json

    from aios_kernel._store import components

    agent("t.add", add_one)
    define("t_rebuild", [Step("a", "t.add", {"value": 1}), Step("b", "t.add", {"value": "$a.value"})])
    run = twb.run("t_rebuild")
    sql = ("SELECT task_id, idx, phase, name, status, outputs, evidence, cost, event_seq FROM steps WHERE run_id=?"
           " ORDER BY event_seq")
    before = [tuple(r) for r in twb.store.query(sql, (run.id,))]
    assert [json.loads(r[5])["value"] for r in before] == [2, 3]
    assert "outputs" not in [c[1] for c in twb.store.query("PRAGMA table_info(step_rows)")]  # one copy: the event's
    twb.store.rebuild(components()["orchestrator"])
    assert [tuple(r) for r in twb.store.query(sql, (run.id,))] == before
    assert twb.store.verify().ok


def test_a_store_from_before_step_rows_keeps_its_checkpoints(tmp_path):
    from aios_kernel._orchestrator._schema import orchestrator
    from aios_kernel._store import Store, _events

    every = list(orchestrator.migrations)
    orchestrator.migrations[:] = [m for m in every if m.version < 4]
    try:  # a store as the previous version wrote it (unkeyed chain): the checkpoint row carried its own copy of the outputs
        with Store.open(tmp_path / "s.db", key=None) as s:
            s.emit("run.submitted", "run:r1", {"workflow": "w", "params": {}}, correlation_id="r1")
            s.emit("task.enqueued", "queue:t1", {"run_id": "r1", "name": "main", "template": "main", "agent": "a",
                                                  "max_attempts": 3}, correlation_id="r1")
            with s.atomic() as conn:
                ev = _events.insert(conn, id="ev_x", at="2026-01-01T00:00:00.000000Z", type="step.completed",
                                    entity="queue:t1", payload={"idx": 0, "name": "a", "status": "succeeded",
                                                                "outputs": {"value": 2}, "cost": {"cpu_s": 0.5}},
                                    actor="agent:a@1", correlation_id="r1", cause_id=None)
                conn.execute("INSERT INTO steps(task_id, idx, phase, name, agent, agent_version, status, outputs, cost,"
                             " span_id, run_id, event_seq) VALUES ('t1', 0, 'do', 'a', 'a', '1', 'succeeded',"
                             " '{\"value\":2}', '{\"cpu_s\":0.5}', 'sp1', 'r1', ?)", (ev.seq,))
    finally:
        orchestrator.migrations[:] = every
    with Store.open(tmp_path / "s.db") as s:
        row = s.one("SELECT * FROM steps WHERE task_id='t1'")
        assert (row["name"], row["status"], row["outputs"], row["cost"], row["span_id"]) == (
            "a", "succeeded", '{"value":2}', '{"cpu_s":0.5}', "sp1")
        assert s.schema_versions()["orchestrator"] == orchestrator.version and s.verify().ok


def test_a_run_started_by_another_version_of_its_workflow_stops_with_a_clear_error(twb, fast_ws):
    agent("t.render", render_effect)
    define("t_versioned", [Step("send", "t.render", {"text": "note"}, action="t_send")], version=2)
    run = twb.run("t_versioned", idempotency_key="before-upgrade")
    assert run.status == "waiting_approval"
    # the run was started by the version before: its checkpoints are indexed by that version's steps
    with twb.orchestrator.store.atomic() as conn:
        conn.execute("UPDATE runs SET version=1 WHERE id=?", (run.id,))
    [approval] = [a for a in twb.approvals.pending() if a.run_id == run.id]
    approval.approve()
    twb.resume()
    assert run.status == "failed"
    assert "version 1 of t_versioned" in run.task().error and "start the workflow again" in run.task().error
    assert ledger_lines(fast_ws) == []  # nothing is done on a reading of the steps that may be wrong
