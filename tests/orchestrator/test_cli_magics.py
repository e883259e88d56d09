"""The CLI (aios run / approve / resume / replay ...) and the %aios magics."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from .conftest import ledger_lines


def aios(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aios_kernel", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_run_approve_resume_replay_from_the_command_line(fast_ws):
    ws = str(fast_ws)
    out = aios("run", "invoicing", "--param", "month=2026-10", "--workspace", ws)
    assert out.returncode == 0, out.stderr
    assert "waiting_approval" in out.stdout and "5 approval(s) waiting" in out.stdout
    assert ledger_lines(fast_ws) == []
    listing = aios("approvals", "--workspace", ws)
    assert "5 pending approval(s)" in listing.stdout and "Issue the invoice 2026-10-NRD-01" in listing.stdout
    assert aios("approve", "--all", "--workspace", ws).returncode == 0
    resumed = aios("resume", "--workspace", ws)
    assert resumed.returncode == 0 and "5 task run(s)" in resumed.stdout
    again = aios("resume", "--workspace", ws)
    assert again.returncode == 0 and "0 task run(s)" in again.stdout
    keys = Counter(line["key"] for line in ledger_lines(fast_ws))  # the e-mails; the invoices are in the invoice ledger
    assert len(keys) == 5 and set(keys.values()) == {1}
    listed = aios("invoices", "list", "--workspace", ws).stdout.splitlines()
    assert [line.split()[0] for line in listed] == [f"LA-2026-{n:03d}" for n in range(33, 38)]
    run_id = aios("runs", "--workspace", ws).stdout.split()[0]
    replay = aios("replay", run_id, "--dry-run", "--workspace", ws)
    assert replay.returncode == 0, replay.stderr
    assert "dry run" in replay.stdout and "would issue_invoice" in replay.stdout
    assert len(ledger_lines(fast_ws)) == 5


@pytest.mark.slow
def test_cli_errors_are_one_clear_line(fast_ws):
    bad = aios("run", "invoicng", "--workspace", str(fast_ws))
    assert bad.returncode == 1 and "did you mean 'invoicing'" in bad.stderr and "Traceback" not in bad.stderr
    param = aios("run", "invoicing", "--param", "month=13", "--workspace", str(fast_ws))
    assert param.returncode == 1 and "'month'" in param.stderr


def test_every_command_has_help():
    from aios_kernel._cli import COMMANDS

    for name in ("run", "approve", "resume", "replay", "runs", "approvals", "trace", "costs", "plan"):
        assert COMMANDS[name].help


def test_magics_list_runs_and_show_a_trace(twb):
    from aios_kernel._kernel._commands import COMMANDS

    run = COMMANDS["run"].fn(twb, ["invoicing", "month=2026-10", "client=Nordlys"])
    assert run.status == "waiting_approval"
    runs = COMMANDS["runs"].fn(twb, [])
    assert run.id in str(runs) and "waiting_approval" in runs._repr_html_()
    report = COMMANDS["trace"].fn(twb, [run.id])
    html = report._repr_html_()
    assert "invoicing" in html and "spans" in html and "policy" in html
    assert "1 pending approval" in COMMANDS["approvals"].fn(twb, [])._repr_html_()
    assert "daily_ops" in str(COMMANDS["plan"].fn(twb, ["daily_ops"]))
    assert run._repr_html_().startswith("<div class='aios-run'>")
    assert "task invoice:2026-10-NRD-01" in run.task("invoice:2026-10-NRD-01")._repr_html_()
