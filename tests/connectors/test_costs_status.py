"""Connector calls at a glance: their price on the spans, in ``wb.costs()`` and the cost meter, and the rate limit's headroom."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aios_kernel import ConnectorError
from tests.connectors.httpd import Endpoint
from tests.connectors.test_webhook import CTX, HOOK, hook_ws


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.stop()


@pytest.fixture
def close_widgets() -> Iterator[list]:
    made: list = []
    yield made
    for w in made:
        w.close()


def test_connector_calls_carry_their_price_and_are_counted_beside_model_calls(tmp_path: Path, endpoint: Endpoint,
                                                                             close_widgets: list) -> None:
    from aios_kernel import Workbench
    from aios_kernel._ids import utcnow
    from aios_kernel._observability import connector_spending
    from aios_kernel.widgets import CostMeter

    ws = hook_ws(tmp_path / "ws", endpoint, "price_per_call = 0.05\nrate_per_minute = 6\nburst = 3\n"
                                            "breaker_failures = 1\nbreaker_cooldown_s = 60\n")
    with Workbench.open(ws) as wb:
        run = wb.run("tell_books", idempotency_key="inv-7")
        assert run.status == "succeeded"
        outbox = wb.orchestrator.outbox
        outbox.execute(key="inv-7/main/notify", connector="hook", action="notify", payload=HOOK, **CTX)  # applied: no call
        endpoint.provoke("fail", times=1)
        with pytest.raises(ConnectorError):  # reached the endpoint: charged
            outbox.execute(key="k-fail", connector="hook", action="notify", payload=HOOK, **CTX)
        with pytest.raises(ConnectorError) as refused:  # the breaker is open: never sent, never charged
            outbox.execute(key="k-refused", connector="hook", action="notify", payload=HOOK, **CTX)
        assert not refused.value.called

        spans = wb.trace(run.id).filter(kind="connector").to_dicts()
        assert [(s["name"], s["cost"], s["status"]) for s in spans] == [("hook.notify", 0.05, "ok")]

        by_wf = {r["workflow"]: r for r in wb.costs().to_dicts()}
        assert (by_wf["tell_books"]["connector_calls"], by_wf["tell_books"]["connector_cost"]) == (1, 0.05)
        assert by_wf["tell_books"]["calls"] == 0  # no model call: the template tier is not a call here
        assert by_wf["(outside runs)"]["connector_calls"] == 1
        today = utcnow().strftime("%Y-%m-%d")
        [day] = wb.costs(by="day").to_dicts()
        assert (day["day"], day["connector_calls"], round(day["connector_cost"], 6)) == (today, 2, 0.1)
        assert connector_spending(wb.store, day=today) == (2, pytest.approx(0.1))
        assert connector_spending(wb.store, run_id=run.id) == (1, pytest.approx(0.05))

        meter = CostMeter(wb, live=False)
        close_widgets.append(meter)
        assert (meter.data["today"]["connector_calls"], meter.data["today"]["connector_money"]) == (2, 0.1)
        assert {w["workflow"]: w["connector_calls"] for w in meter.data["by_workflow"]}["tell_books"] == 1
        assert meter.data["by_day"][-1]["connector_calls"] == 2

        row = {r["connector"]: r for r in wb.connectors.status()}["hook"]
        assert (row["calls"], row["failures"], row["state"]) == (2, 1, "open")
        assert (row["price_per_call"], row["cost_today"], row["rate_per_minute"]) == (0.05, 0.1, 6.0)
        assert row["headroom"] == 1  # a burst of 3, two calls went (the refused one took no token)
        line = next(ln for ln in str(wb.status()).splitlines() if "connector hook" in ln)
        assert "1 call(s) may go now (limit 6 a minute)" in line and "cost today 0.1" in line
        frame = wb.connectors.frame()
        assert {"headroom", "price_per_call", "cost_today"} <= set(frame.columns)


def test_headroom_refills_at_the_rate_and_an_unlimited_connector_has_none(tmp_path: Path, endpoint: Endpoint) -> None:
    from aios_kernel import Workbench
    from aios_kernel._connectors._guard import headroom, status

    ws = hook_ws(tmp_path / "ws", endpoint, "rate_per_minute = 60\nburst = 2\n")
    with Workbench.open(ws) as wb:
        for n in range(2):
            wb.connectors.call("hook", f"k-{n}", "notify", HOOK)
        with pytest.raises(ConnectorError) as empty:
            wb.connectors.call("hook", "k-2", "notify", HOOK)
        assert "rate limit of 60 a minute" in str(empty.value) and 0 < empty.value.retry_after <= 1.0
        settings = wb.connectors.settings("hook")
        state = status(wb.store, ["hook"])["hook"]
        assert headroom(settings, state, now=state["bucket_updated"]) == 0
        assert headroom(settings, state, now=state["bucket_updated"] + 1.0) == 1
        assert headroom(settings, state, now=state["bucket_updated"] + 60.0) == 2  # never past the burst
        ledger = {r["connector"]: r for r in wb.connectors.status()}["ledger"]
        assert ledger["headroom"] is None and ledger["rate_per_minute"] is None
    assert len(endpoint.stored) == 2
