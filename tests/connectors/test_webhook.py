"""Webhooks against a real HTTP server on 127.0.0.1 that the test makes slow, throttled, failing or talk garbage.

Every call carries the effect's ``Idempotency-Key``; a 429 is retried no
sooner than its ``Retry-After``; 5xx opens the breaker, which half-opens after
its cooldown; a timeout is settled by the endpoint's GET by key when there is
one, and by the operator when there is not; an HTML page where JSON belongs is
a clear error on the task, not retried.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aios_kernel import AgentResult, ConnectorError, OutcomeUnknown, Step
from tests.connectors.httpd import Endpoint
from tests.orchestrator.conftest import make_fast
from tests.orchestrator.helpers import agent, define

HOOK = {"event": "invoice.issued", "text": "INV-2026-0007 issued", "data": {"number": "INV-2026-0007", "total": "1200.00"}}
CTX = {"run_id": "run_hook", "task_id": "task_hook", "step": "notify"}
TOKEN = "Bearer-Token-9d1e"


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.stop()


def hook_ws(root: Path, endpoint: Endpoint, extra: str = "") -> Path:
    from aios_kernel import Workbench

    Workbench.init(root).close()
    make_fast(root, f'\n[connectors.hook]\nkind = "webhook"\nurl = "{endpoint.url()}"\ntimeout_s = 5\n{extra}')
    cfg = root / "aios.toml"
    cfg.write_text(cfg.read_text().replace("[policies.actions]\n", '[policies.actions]\nnotify = "auto"\n', 1))
    agent("hook.render", lambda ctx: AgentResult({"payload": HOOK, "title": "Tell the bookkeeping tool"}, confidence=0.9),
          outputs={"payload": dict})
    define("tell_books", [Step("notify", "hook.render", action="notify", connector="hook")])
    return root


def breaker_events(wb: Any) -> list[str]:
    return [e.payload["state"] for e in wb.store.events(types=("connector.breaker",))]


def test_every_call_carries_its_idempotency_key_and_the_same_key_twice_is_one_call(tmp_path: Path,
                                                                                   endpoint: Endpoint) -> None:
    from aios_kernel import Workbench

    with Workbench.open(hook_ws(tmp_path / "ws", endpoint)) as wb:
        first = wb.orchestrator.outbox.execute(key="k-once", connector="hook", action="notify", payload=HOOK, **CTX)
        again = wb.orchestrator.outbox.execute(key="k-once", connector="hook", action="notify", payload=HOOK, **CTX)
        # the process lost its outcome: the journal holds the endpoint's answer, nothing is sent again
        third = wb.connectors.call("hook", "k-once", "notify", HOOK)
    [call] = endpoint.calls()
    assert call.method == "POST" and call.json() == HOOK
    assert call.headers["Idempotency-Key"] == "k-once" and call.headers["X-Aios-Action"] == "notify"
    assert call.headers["Content-Type"] == "application/json" and "Authorization" not in call.headers
    assert first == again and first["status"] == 201 and first["response"] == {"id": 1, "key": "k-once"}
    assert third["already_applied"] and len(endpoint.stored) == 1


def test_a_throttled_call_is_retried_no_sooner_than_retry_after(tmp_path: Path, endpoint: Endpoint) -> None:
    from aios_kernel import Workbench

    endpoint.provoke("throttle", times=1, retry_after="1.5")
    with Workbench.open(hook_ws(tmp_path / "ws", endpoint)) as wb:
        run = wb.run("tell_books", idempotency_key="inv-7")
        assert run.status == "succeeded"
        failed = [e for e in wb.store.events(types=("step.failed",)) if e.correlation_id == run.id]
        assert len(failed) == 1 and "Retry-After 1.5s" in failed[0].payload["error"]
    first, second = endpoint.calls()
    assert (first.status, second.status) == (429, 201)
    assert second.at - first.at >= 1.5  # the backoff alone would have been milliseconds
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    assert len(endpoint.stored) == 1


def test_a_failing_endpoint_opens_the_breaker_which_half_opens_after_its_cooldown(tmp_path: Path,
                                                                                  endpoint: Endpoint) -> None:
    from aios_kernel import Workbench

    ws = hook_ws(tmp_path / "ws", endpoint, "breaker_failures = 2\nbreaker_cooldown_s = 0.4\n")
    with Workbench.open(ws) as wb:
        endpoint.provoke("fail", times=3)
        for n in range(2):
            with pytest.raises(ConnectorError) as err:
                wb.connectors.call("hook", f"k-{n}", "notify", HOOK)
            assert err.value.transient and "answered 500" in str(err.value)
        with pytest.raises(ConnectorError) as fast:
            wb.connectors.call("hook", "k-2", "notify", HOOK)
        assert "paused after 2 failures" in str(fast.value) and not fast.value.called
        assert len(endpoint.calls()) == 2  # the open circuit kept the call off the endpoint
        time.sleep(0.5)
        with pytest.raises(ConnectorError):  # the probe reaches the endpoint, fails: open again
            wb.connectors.call("hook", "k-3", "notify", HOOK)
        assert len(endpoint.calls()) == 3
        with pytest.raises(ConnectorError) as fast:
            wb.connectors.call("hook", "k-4", "notify", HOOK)
        assert not fast.value.called
        time.sleep(0.5)
        receipt = wb.connectors.call("hook", "k-5", "notify", HOOK)  # the next probe succeeds: closed
        assert receipt["status"] == 201
        wb.connectors.call("hook", "k-6", "notify", HOOK)
        assert breaker_events(wb) == ["open", "half_open", "open", "half_open", "closed"]
        row = {r["connector"]: r for r in wb.connectors.status()}["hook"]
        assert row["state"] == "closed" and row["calls"] == 5 and row["failures"] == 3
    assert sorted(endpoint.stored) == ["k-5", "k-6"]


def test_a_slow_endpoint_without_a_status_url_becomes_a_question_and_is_never_sent_twice(tmp_path: Path,
                                                                                       endpoint: Endpoint) -> None:
    from aios_kernel import Workbench

    ws = hook_ws(tmp_path / "ws", endpoint)
    cfg = ws / "aios.toml"
    cfg.write_text(cfg.read_text().replace("timeout_s = 5\n", "timeout_s = 0.5\n", 1))
    endpoint.provoke("slow", times=1, delay=1.5)
    with Workbench.open(ws) as wb:
        run = wb.run("tell_books", idempotency_key="inv-7")
        assert run.status == "waiting_approval"
        [question] = wb.approvals.pending()
        assert question.kind == "effect" and "Idempotency-Key" in question.why["hint"]
        assert [e["status"] for e in run.effects] == ["unknown"]
        wb.resume()  # nothing is sent on its own
        assert len(endpoint.calls()) == 1
        question.choose("mark_sent")  # the endpoint shows the call: it happened
        wb.run_pending(run_id=run.id)
        assert run.status == "succeeded"
    assert len(endpoint.calls()) == 1 and len(endpoint.stored) == 1


def test_with_a_status_url_a_timed_out_call_is_asked_about_and_not_sent_again(tmp_path: Path, endpoint: Endpoint) -> None:
    from aios_kernel import Workbench

    ws = hook_ws(tmp_path / "ws", endpoint, f'status_url = "{endpoint.url("/hooks/{key}")}"\n')
    cfg = ws / "aios.toml"
    cfg.write_text(cfg.read_text().replace("timeout_s = 5\n", "timeout_s = 0.5\n", 1))
    endpoint.provoke("slow", times=1, delay=1.5)
    with Workbench.open(ws) as wb:
        run = wb.run("tell_books", idempotency_key="inv-7")
        assert run.status == "succeeded"
        [effect] = run.effects
        assert effect["result"]["already_applied"] and effect["result"]["status"] == 200
    posts = endpoint.calls()
    gets = [s for s in endpoint.seen if s.method == "GET"]
    assert len(posts) == 1 and len(endpoint.stored) == 1
    assert [g.status for g in gets] == [404, 200]  # before the first try, and before the retry
    assert gets[-1].path.endswith("/hooks/" + posts[0].headers["Idempotency-Key"].replace("/", "%2F"))


def test_an_html_page_where_json_belongs_is_a_clear_error_on_the_task_and_is_not_retried(tmp_path: Path,
                                                                                       endpoint: Endpoint) -> None:
    from aios_kernel import Workbench

    endpoint.provoke("garbage", times=5)
    with Workbench.open(hook_ws(tmp_path / "ws", endpoint)) as wb:
        run = wb.run("tell_books", idempotency_key="inv-7")
        assert run.status == "failed"
        assert "with text/html instead of JSON" in run.error and "check [connectors.hook] url" in run.error
        assert "not retried" in run.error
        [effect] = run.effects
        assert effect["status"] == "failed"
        endpoint.provoke("refuse", times=1)
        with pytest.raises(ConnectorError) as err:
            wb.orchestrator.outbox.execute(key="k-422", connector="hook", action="notify", payload=HOOK, **CTX)
        assert not err.value.transient and "refused notify (k-422) with 422" in str(err.value)
        assert "field text is too long" in str(err.value)
        assert wb.connectors.get("hook").was_applied("k-422") is None  # refused: nothing to reconcile
    assert len(endpoint.calls()) == 2


def test_an_unreachable_endpoint_sends_nothing_and_is_retried(tmp_path: Path, endpoint: Endpoint) -> None:
    from aios_kernel import Workbench
    from tests.connectors.conftest import free_port

    ws = hook_ws(tmp_path / "ws", endpoint)
    cfg = ws / "aios.toml"
    cfg.write_text(cfg.read_text().replace(endpoint.url(), f"http://127.0.0.1:{free_port()}/hooks"))
    with Workbench.open(ws) as wb:
        with pytest.raises(ConnectorError) as err:
            wb.orchestrator.outbox.execute(key="k-down", connector="hook", action="notify", payload=HOOK, **CTX)
        assert err.value.transient and not isinstance(err.value, OutcomeUnknown)
        assert "nothing was sent" in str(err.value)
        assert wb.connectors.get("hook").was_applied("k-down") is None


def test_the_token_comes_from_the_credential_store_and_is_shown_nowhere(tmp_path: Path, endpoint: Endpoint) -> None:
    from aios_kernel import Workbench

    ws = hook_ws(tmp_path / "ws", endpoint, 'token = "secret:books"\n')
    with Workbench.open(ws) as wb:
        wb.secrets.set("books", TOKEN)
        receipt = wb.orchestrator.outbox.execute(key="k-auth", connector="hook", action="notify", payload=HOOK, **CTX)
        shown = [repr(wb.connectors.get("hook")), str(wb.status()), json.dumps(receipt), json.dumps(wb.connectors.status(),
                                                                                               default=str)]
        assert all(TOKEN not in s for s in shown)
    assert endpoint.calls()[0].headers["Authorization"] == f"Bearer {TOKEN}"
    for path in ws.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path
