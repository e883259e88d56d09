"""The model tiers: cache, remote, local, template, each one kind of :class:`Tier`.

A generate call is a :class:`Batch`: the requests, and what each has been
answered with so far. :class:`~aios_kernel._models.Models` hands the
unanswered ones to each tier in turn; a tier answers what it can and leaves
the rest. The template tier answers everything it is given, so every request
ends with an answer. Every call a tier makes is accounted by the
:class:`Meter` (a ``model.called`` event, and the step's cost meter).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .._errors import ModelError
from .._ids import iso, iso_at, new_id
from ._accounting import price
from ._cache import ResponseCache
from ._cost import Cost

if TYPE_CHECKING:
    from ._service import GenRequest, TraceInfo

Answer = tuple[str, str, "str | None", bool]
"""(text, tier, why the model's answer was not used or None, from the cache)."""


@dataclass
class Batch:
    """One ``generate`` call in progress."""

    requests: list[GenRequest]
    trace: TraceInfo
    max_new: int
    answers: list[Answer | None] = field(default_factory=list)
    usage: list[Cost | None] = field(default_factory=list)
    keys: dict[int, str] = field(default_factory=dict)
    """Cache key of each request a model may answer."""

    def __post_init__(self) -> None:
        self.answers = [None] * len(self.requests)
        self.usage = [None] * len(self.requests)

    def pending(self) -> list[int]:
        return [i for i, a in enumerate(self.answers) if a is None]


class Meter:
    """Accounts every call: a ``model.called`` event (its span) and the caller's cost meter."""

    def __init__(self, store: Any, config: Any) -> None:
        self.store = store
        self.config = config

    def price(self, tier: str, *, tokens_in: int = 0, tokens_out: int = 0, cpu_s: float = 0.0) -> float:
        return price(self.config, tier, tokens_in=tokens_in, tokens_out=tokens_out, cpu_s=cpu_s)

    def record(self, trace: TraceInfo, tier: str, model: str, n: int, tokens_in: int, tokens_out: int, cpu_s: float,
               wall_s: float, started: float, *, purpose: str, money: float = 0.0, cached: bool = False,
               fallback_reason: str | None = None) -> None:
        started_at = iso_at(time.time() - wall_s) if started else iso()
        if trace.meter is not None:
            trace.meter.add(Cost(int(tokens_in), int(tokens_out), cpu_s, money, 1, tier))
        self.store.emit("model.called", f"model:{tier}", {
            "span_id": new_id("sp"), "trace_id": trace.run_id, "parent_span": trace.parent_span, "agent": trace.agent,
            "agent_version": trace.agent_version, "workflow": trace.workflow, "tier": tier, "model": model, "n": n,
            "purpose": purpose, "tokens_in": int(tokens_in), "tokens_out": int(tokens_out), "cpu_s": round(cpu_s, 6),
            "wall_s": round(wall_s, 6), "cost": round(money, 8), "cached": cached or None,
            "fallback_reason": fallback_reason, "started_at": started_at},
            actor=f"agent:{trace.agent}@{trace.agent_version}" if trace.agent else "models", correlation_id=trace.run_id)


class Tier:
    """One way to answer requests; :meth:`answer` fills ``batch.answers`` for the ids it can."""

    name = ""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter

    def answer(self, batch: Batch, ids: list[int]) -> None:
        raise NotImplementedError


class TemplateTier(Tier):
    """The deterministic tier: each request's own fallback text, framed by its template."""

    name = "template"

    def answer(self, batch: Batch, ids: list[int], *, reason: str | None = None,
               reasons: dict[int, str | None] | None = None) -> None:
        if not ids:
            return
        t0, c0 = time.perf_counter(), time.process_time()
        for i in ids:
            why = reason or (reasons or {}).get(i) or "no model output"
            batch.answers[i] = (batch.requests[i].fallback, "template", why, False)
        cpu = time.process_time() - c0
        cost = Cost(0, 0, cpu, self.meter.price("template", cpu_s=cpu), 1, "template")
        for i in ids:
            batch.usage[i] = cost
        self.meter.record(batch.trace, "template", "templates", len(ids), 0, 0, cpu, time.perf_counter() - t0, t0,
                          purpose=batch.requests[ids[0]].purpose, money=cost.money,
                          fallback_reason=reason or next(iter((reasons or {}).values()), None))


class CacheTier(Tier):
    """Answers a request asked before (same model, prompt and parameters) from the response cache."""

    name = "cache"

    def __init__(self, meter: Meter, cache: ResponseCache) -> None:
        super().__init__(meter)
        self.cache = cache

    def answer(self, batch: Batch, ids: list[int]) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        hits = self.cache.get_many([batch.keys[i] for i in ids])
        found = [i for i in ids if batch.keys[i] in hits]
        if not found:
            return
        cost = Cost(calls=1, tier="cache", cpu_s=time.process_time() - c0)
        for i in found:
            batch.answers[i] = (hits[batch.keys[i]].output, "cache", None, True)
            batch.usage[i] = cost
        self.meter.record(batch.trace, "cache", "cache", len(found), 0, 0, cost.cpu_s, time.perf_counter() - t0, t0,
                          cached=True, purpose=batch.requests[found[0]].purpose)


class RemoteTier(Tier):
    """An OpenAI-compatible server (``[models.remote]``), one request at a time; never sent a sensitive one."""

    name = "remote"

    def __init__(self, meter: Meter, cache: ResponseCache, check: Callable[[GenRequest, str], str | None],
                 shape: Callable[..., str]) -> None:
        super().__init__(meter)
        self.cache = cache
        self.check = check
        self.shape = shape

    def answer(self, batch: Batch, ids: list[int]) -> None:
        from ._remote import RemoteClient

        remote = RemoteClient.from_config(self.meter.config)
        if remote is None:
            return
        for i in ids:
            if not batch.requests[i].sensitive:
                self._one(remote, batch, i)

    def _one(self, remote: Any, batch: Batch, i: int) -> None:
        req = batch.requests[i]
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            ask = req.prompt + (f"\n\nStart your answer with: {req.prefix}" if req.prefix else "")
            reply = remote.complete(req.system, ask, max_tokens=req.max_new_tokens or batch.max_new, sensitive=req.sensitive)
        except ModelError as exc:
            self.meter.record(batch.trace, "remote", remote.model, 1, 0, 0, time.process_time() - c0,
                              time.perf_counter() - t0, t0, purpose=req.purpose, fallback_reason=str(exc))
            return  # the local tier gets it next
        cpu = time.process_time() - c0
        money = self.meter.price("remote", tokens_in=reply.tokens_in, tokens_out=reply.tokens_out, cpu_s=cpu)
        reply = replace(reply, text=self.shape(req, reply.text, continued=False))
        problem = self.check(req, reply.text)
        self.meter.record(batch.trace, "remote", remote.model, 1, reply.tokens_in, reply.tokens_out, cpu,
                          time.perf_counter() - t0, t0, purpose=req.purpose, money=money, fallback_reason=problem)
        if problem is None:
            batch.answers[i] = (reply.text, "remote", None, False)
            batch.usage[i] = Cost(reply.tokens_in, reply.tokens_out, cpu, money, 1, "remote")
            self.cache.put(batch.keys[i], model=f"remote:{remote.model}", tier="remote", output=reply.text,
                           tokens_in=reply.tokens_in, tokens_out=reply.tokens_out)


class LocalTier(Tier):
    """The local LM: every request left, in batches of ``[models] batch_size``, one batched decode each.

    Outputs that fail validation, and batches that fail or time out, go to
    the template tier at once, with the reason.
    """

    name = "local"

    def __init__(self, meter: Meter, cache: ResponseCache, fallback: TemplateTier, *, model_id: Callable[[], str],
                 load: Callable[[], Any], check: Callable[[GenRequest, str], str | None], shape: Callable[..., str],
                 settled: Callable[..., bool]) -> None:
        super().__init__(meter)
        self.cache = cache
        self.fallback = fallback
        self.model_id = model_id
        self.load = load
        self.check = check
        self.shape = shape
        self.settled = settled
        self.error: str | None = None
        """Why the local model cannot be used in this process (it failed to load), or None."""

    @property
    def batch_size(self) -> int:
        return max(1, int(self.meter.config.get("models.batch_size", 8)))

    @property
    def threads(self) -> int:
        return int(self.meter.config.get("models.threads", 0))

    def answer(self, batch: Batch, ids: list[int]) -> None:
        if self.error is None:
            try:
                lm = self.load()
            except Exception as exc:  # noqa: BLE001  (any failure to load means: use templates)
                self.error = f"local model unavailable: {exc}"
        if self.error is not None:
            self.fallback.answer(batch, ids, reason=self.error)
            return
        requests, model_id = batch.requests, self.model_id()
        timeout = float(self.meter.config.get("models.timeout_s", 120.0))
        # prompts of similar length batch together: less padding to compute
        ids = sorted(ids, key=lambda i: (len(requests[i].system) + len(requests[i].prompt), i))
        for start in range(0, len(ids), self.batch_size):
            chunk = ids[start:start + self.batch_size]
            # each row keeps its own limit: an answer must not depend on what it was batched with (it is cached by its limit)
            budget = [requests[i].max_new_tokens or batch.max_new for i in chunk]
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                outs = lm.generate([(requests[i].system, requests[i].prompt, requests[i].prefix) for i in chunk],
                                   max_new_tokens=budget, max_time=timeout, threads=self.threads,
                                   stop=[functools.partial(self.settled, requests[i]) for i in chunk])
                outs = [replace(o, text=self.shape(requests[i], o.text)) for i, o in zip(chunk, outs, strict=True)]
                error = None
            except Exception as exc:  # noqa: BLE001  (a failing generate falls back, the run goes on)
                outs, error = [], f"local generation failed: {type(exc).__name__}: {exc}"
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            if error is None and wall >= timeout * 0.98:
                error = f"local generation timed out after {wall:.1f}s ([models] timeout_s = {timeout:g})"
            t_in = sum(o.tokens_in for o in outs)
            t_out = sum(o.tokens_out for o in outs)
            money = self.meter.price("local", tokens_in=t_in, tokens_out=t_out, cpu_s=cpu)
            cost = Cost(t_in, t_out, cpu, money, 1, "local")
            rejected: dict[int, str] = {}
            for pos, i in enumerate(chunk):
                if error is not None:
                    continue
                problem = self.check(requests[i], outs[pos].text)
                if problem is None:
                    batch.answers[i] = (outs[pos].text, "local", None, False)
                    batch.usage[i] = cost
                    self.cache.put(batch.keys[i], model=model_id, tier="local", output=outs[pos].text,
                                   tokens_in=outs[pos].tokens_in, tokens_out=outs[pos].tokens_out)
                else:
                    rejected[i] = f"model output failed validation: {problem}"
            self.meter.record(batch.trace, "local", model_id, len(chunk), t_in, t_out, cpu, wall, t0,
                              purpose=requests[chunk[0]].purpose, money=money,
                              fallback_reason=error or (f"{len(rejected)} of {len(chunk)} outputs failed validation"
                                                        if rejected else None))
            failed = [i for i in chunk if batch.answers[i] is None]
            if failed:
                self.fallback.answer(batch, failed, reasons={i: rejected.get(i, error) for i in failed})
