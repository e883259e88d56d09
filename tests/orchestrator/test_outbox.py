"""Exactly-once effects: intents before calls, reconciliation after SIGKILL, the ledger's own guard."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from aios_kernel import Workbench
from aios_kernel._connectors import LedgerConnector

from .conftest import ledger_lines

CHILD = textwrap.dedent('''
    import os, signal, sys
    from pathlib import Path
    from aios_kernel import AgentResult, FunctionAgent, Step, Workflow, Workbench, register_agent, register_workflow

    ws, mode = Path(sys.argv[1]), sys.argv[2]
    counts = ws / "counts.txt"

    def step(name):
        def fn(ctx, **kw):
            with counts.open("a") as fh:
                fh.write(name + "\\n")
            if mode == "kill-in-step" and name == "c" and not (ws / "killed").exists():
                (ws / "killed").write_text("1")
                os.kill(os.getpid(), signal.SIGKILL)
            return {"done": name}
        return fn

    for n in "abc":
        register_agent(FunctionAgent(f"k.{n}", step(n)), replace=True)
    register_agent(FunctionAgent("k.render", lambda ctx: AgentResult({"payload": {"to": "x@example.com"}, "title": "t"})),
                   replace=True)
    register_workflow(Workflow("k_flow", "crash test", [Step("a", "k.a"), Step("b", "k.b"),
                                                        Step("send", "k.render", action="k_send"), Step("c", "k.c")]),
                      replace=True)

    class KillAround:
        """FaultyConnector: SIGKILLs this process just before or just after the real ledger applies."""
        def __init__(self, inner, when):
            self.inner, self.when, self.name = inner, when, inner.name
        def apply(self, key, action, payload):
            if self.when == "before":
                os.kill(os.getpid(), signal.SIGKILL)
            receipt = self.inner.apply(key, action, payload)
            os.kill(os.getpid(), signal.SIGKILL)
        def was_applied(self, key):
            return self.inner.was_applied(key)
        def close(self):
            pass
        def __getattr__(self, name):
            return getattr(self.inner, name)

    wb = Workbench.open(ws)
    wb.config.data["policies"]["actions"]["k_send"] = "auto"
    if mode in ("kill-before-apply", "kill-after-apply"):
        wb.orchestrator.connectors.use("ledger", KillAround(wb.orchestrator.connectors.get("ledger"), mode.split("-")[1]))
    if mode != "resume":
        wb.submit("k_flow", {}, idempotency_key="crash-1")
    print("submitted", flush=True)
    wb.run_pending()
    wb.close()
''')


def _child(ws: Path, mode: str) -> subprocess.CompletedProcess:
    script = ws / "child.py"
    script.write_text(CHILD)
    return subprocess.run([sys.executable, str(script), str(ws), mode], capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["kill-in-step", "kill-before-apply", "kill-after-apply"])
def test_sigkill_anywhere_loses_nothing_and_repeats_nothing(fast_ws, mode):
    first = _child(fast_ws, mode)
    assert first.returncode == -9, first.stderr
    second = _child(fast_ws, "resume")
    assert second.returncode == 0, second.stderr
    with Workbench.open(fast_ws) as wb:
        run = wb.runs(workflow="k_flow")[0]
        assert run.status == "succeeded"
        effects = run.effects
        assert [(e["status"], e["reconciled"]) for e in effects] == [("applied", int(mode == "kill-after-apply"))]
    lines = ledger_lines(fast_ws)
    assert [line["key"] for line in lines] == ["crash-1/main/send"]
    counts = (fast_ws / "counts.txt").read_text().split()
    # finished steps are never redone: a and b ran once; c ran again only when it was the one killed
    assert counts.count("a") == 1 and counts.count("b") == 1
    assert counts.count("c") == (2 if mode == "kill-in-step" else 1)


def test_ledger_answers_was_applied_from_the_file_and_never_writes_a_key_twice(tmp_path):
    led = LedgerConnector("ledger", tmp_path / "ledger.jsonl")
    assert led.was_applied("k1") is None
    r1 = led.apply("k1", "send_email", {"to": "a"})
    r2 = led.apply("k1", "send_email", {"to": "a"})
    assert r2["already_applied"] and r1["line"] == r2["line"] == 1
    other = LedgerConnector("ledger", tmp_path / "ledger.jsonl")  # another process's view: reads the file
    assert other.was_applied("k1")["line"] == 1
    assert len(ledger_lines(tmp_path)) == 1


def test_a_torn_line_is_not_an_effect_and_is_cut_before_the_next_append(tmp_path):
    path = tmp_path / "ledger.jsonl"
    led = LedgerConnector("ledger", path)
    led.apply("k1", "a", {})
    with path.open("a") as fh:
        fh.write('{"key": "k2", "action": "a", "pay')  # a write cut short by a crash
    fresh = LedgerConnector("ledger", path)
    assert fresh.was_applied("k2") is None
    fresh.apply("k2", "a", {})
    assert [line["key"] for line in ledger_lines(tmp_path)] == ["k1", "k2"]


def test_racing_writers_on_one_key_write_one_line(tmp_path):
    path = tmp_path / "ledger.jsonl"
    barrier = threading.Barrier(8)

    def go() -> None:
        led = LedgerConnector("ledger", path)
        barrier.wait()
        led.apply("same-key", "issue_invoice", {"n": 1})

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ledger_lines(tmp_path)) == 1


def test_transient_connector_failures_are_retried_with_the_same_key(twb, fast_ws):
    from aios_kernel import Step

    from .helpers import FlakyConnector, agent, define, render_effect

    agent("t.render", render_effect)
    twb.config.data["policies"]["actions"]["t_send"] = "auto"
    flaky = FlakyConnector(twb.orchestrator.connectors.get("ledger"), failures=2)
    twb.orchestrator.connectors.use("ledger", flaky)
    define("t_flaky_effect", [Step("send", "t.render", action="t_send")])
    run = twb.run("t_flaky_effect", idempotency_key="flaky-1")
    assert run.status == "succeeded" and flaky.calls == 3
    assert [line["key"] for line in ledger_lines(fast_ws)] == ["flaky-1/main/send"]
    kinds = [e.type for e in twb.store.events(correlation_id=run.id) if e.type.startswith("effect.")]
    assert kinds == ["effect.intended", "effect.failed", "effect.intended", "effect.failed", "effect.intended",
                     "effect.applied"]
    assert json.dumps(run.effects[0]["payload"]) == json.dumps({"text": "hello"})
