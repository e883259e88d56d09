"""SMTP crash harness: approved replies go out through a real SMTP server while ``aios resume`` is SIGKILLed.

``python -m benchmarks.smtp_crash --trials 10`` prepares a demo workspace whose
e-mail connector points at an SMTP server on 127.0.0.1 running in its own
process (``_smtp_sink``), runs the inbox triage and the meeting follow-up to
their approvals, and approves every e-mail. Each trial then runs ``resume``
in subprocesses, SIGKILLed at uniformly random moments of its working time,
``--kills`` times, and once more to the end. The server also drops the
connection after DATA of every Nth message it keeps (``--drop-every``): the
one case where nobody can know whether a message went out.

Then it counts, per trial: messages received per Message-ID (a message twice
is a duplicate), approved e-mails neither received nor surfaced as a decision
(lost), ambiguous sends (the effect ``unknown`` with an open decision for the
operator) and whether any of those was sent again on its own (it must not).
"""

from __future__ import annotations

import argparse
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks._fast import make_fast
from benchmarks._smtp_sink import counts
from benchmarks.crash_harness import _phase

WORKFLOWS = {"inbox_triage": {"limit": 12}, "meeting_followup": {"as_of": "2026-11-20"}}


@dataclass
class Trial:
    seed: int
    kills: int = 0
    approved: int = 0
    received: int = 0
    duplicates: int = 0
    lost: int = 0
    unknown: int = 0
    resent_on_their_own: int = 0
    notes: list[str] = field(default_factory=list)


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink(folder: Path, drop_every: int) -> tuple[subprocess.Popen[str], int]:
    """The SMTP server, as a process of its own; returns it and its port."""
    port = _port()
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks._smtp_sink", str(port), str(folder), "--drop-every",
                             str(drop_every)], stdout=subprocess.PIPE, text=True,
                            env={"PYTHONPATH": str(Path(__file__).resolve().parent.parent), "PATH": "/usr/bin:/bin"})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc, port


def prepare(root: Path, port: int, source: Path | None = None) -> Path:
    """A demo workspace on fast settings whose e-mail goes to the server at ``port``, every e-mail approved."""
    from aios_kernel import Workbench

    ws = root / "template"
    if source is not None:
        shutil.copytree(source, ws)
    else:
        Workbench.init(ws, demo=True).close()
    make_fast(ws, heartbeat_s=None)
    cfg = ws / "aios.toml"
    cfg.write_text(cfg.read_text().replace('[connectors.email]\nkind = "ledger"\n', (
        f'[connectors.email]\nkind = "email"\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsmtp_security = "none"\n'
        "timeout_s = 10\nbreaker_failures = 1000\n"), 1))
    with Workbench.open(ws) as wb:
        for wf, params in WORKFLOWS.items():
            wb.run(wf, params, idempotency_key=f"smtp-crash/{wf}")
        for a in wb.approvals.pending():
            if a.action == "send_email":
                a.approve()
    return ws


def _expected(ws: Path) -> dict[str, str]:
    """Effect key -> Message-ID of every approved e-mail."""
    from aios_kernel import Workbench
    from aios_kernel._connectors._email import message_id

    with Workbench.open(ws) as wb:
        domain = wb.connectors.get("email").domain
        return {a.why["key"]: message_id(a.why["key"], domain) for a in wb.approvals.all(status="approved")
                if a.action == "send_email"}


def _unknown(ws: Path) -> set[str]:
    """Effect keys whose outcome is unknown and put to the operator."""
    from aios_kernel import Workbench

    with Workbench.open(ws) as wb:
        return {a.why["key"] for a in wb.approvals.pending() if a.kind == "effect"}


def trial(seed: int, template: Path, root: Path, sink: Path, *, kills: int, work: float) -> Trial:
    rng = random.Random(seed)
    ws = root / f"trial-{seed}"
    shutil.copytree(template, ws)
    res = Trial(seed)
    expected = _expected(ws)
    res.approved = len(expected)
    before = counts(sink)
    for _ in range(kills):
        phase = _phase("resume", ws, kill_after=rng.uniform(0.0, work * 1.1))
        res.kills += phase.killed
    _phase("resume", ws, kill_after=None)
    asked = _unknown(ws)
    between = counts(sink)
    _phase("resume", ws, kill_after=None)  # once more: nothing asked about may go out again on its own
    after = counts(sink)
    mine = {mid: after[mid] - before.get(mid, 0) for mid in expected.values()}
    res.received = sum(1 for n in mine.values() if n >= 1)
    res.duplicates = sum(n - 1 for n in mine.values() if n > 1)
    res.unknown = len(asked)
    res.lost = sum(1 for key, mid in expected.items() if mine[mid] == 0 and key not in asked)
    res.resent_on_their_own = sum(1 for key in asked if after[expected[key]] > between[expected[key]])
    shutil.rmtree(ws, ignore_errors=True)
    return res


def run_trials(trials: int, *, seed: int = 0, kills: int = 3, drop_every: int = 5, workdir: Path | None = None,
               demo_workspace: Path | None = None) -> list[Trial]:
    root = Path(workdir or tempfile.mkdtemp(prefix="aios-smtp-crash-"))
    root.mkdir(parents=True, exist_ok=True)
    sink = root / "received"
    server, port = start_sink(sink, drop_every)
    try:
        template = prepare(root, port, demo_workspace)
        probe = root / "probe"
        shutil.copytree(template, probe)
        work = _phase("resume", probe, kill_after=None).work  # how long an unkilled resume works
        shutil.rmtree(probe, ignore_errors=True)
        return [trial(seed + i, template, root, sink, kills=kills, work=work) for i in range(trials)]
    finally:
        server.kill()
        server.wait()


def report(results: list[Trial]) -> str:
    total = Counter()
    for r in results:
        for k in ("kills", "approved", "received", "duplicates", "lost", "unknown", "resent_on_their_own"):
            total[k] += getattr(r, k)
    lines = [f"{len(results)} trials, {total['kills']} SIGKILLs of aios resume while replies went out through a real SMTP server",
             f"  approved e-mails: {total['approved']}; received: {total['received']}; "
             f"put to the operator as unknown: {total['unknown']}",
             f"  duplicates (a Message-ID received twice): {total['duplicates']}; lost: {total['lost']}; "
             f"unknown ones resent on their own: {total['resent_on_their_own']}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.smtp_crash", description=__doc__.split("\n\n")[0])
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--kills", type=int, default=3, help="SIGKILLs per trial")
    p.add_argument("--drop-every", type=int, default=5, help="the server drops the connection after every Nth DATA")
    p.add_argument("--seed", type=int, default=0)
    ns = p.parse_args(argv)
    t0 = time.perf_counter()
    results = run_trials(ns.trials, seed=ns.seed, kills=ns.kills, drop_every=ns.drop_every)
    print(report(results))
    print(f"  {time.perf_counter() - t0:.0f}s")
    bad = sum(r.duplicates + r.lost + r.resent_on_their_own for r in results)
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
