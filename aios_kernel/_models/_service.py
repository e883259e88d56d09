"""One interface to every model tier: ``wb.models``.

``generate`` takes a batch of :class:`GenRequest` and answers each, trying in
order: the response cache, the remote tier (only if enabled, never for
sensitive requests), the local LM (all misses in batches of
``[models] batch_size``, one ``generate`` call each), and finally the
deterministic template tier when a model is unavailable, times out, or its
output fails validation. Every call is accounted as a ``model.called`` event
(tokens, CPU-seconds, money) attached to the step that made it.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .._errors import ModelError
from .._ids import iso, iso_at, new_id
from ._accounting import price
from ._cache import ResponseCache, cache_key
from ._cost import Cost
from ._embedding import embedding_settings
from ._router import Route, Router
from ._templates import load_template, placeholders, render, split_subject

BAD_OUTPUT = re.compile(
    r"as an ai|as a (helpful )?(ai|language model|assistant)|language model|i('m| am) (sorry|unable|not able)|"
    r"i cannot|i can't help|<\||\[inst\]|assistant:|user:", re.I)


@dataclass(frozen=True)
class TraceInfo:
    """Where a model call happens: the run, the step span, the agent; and who pays for it."""

    run_id: str | None = None
    parent_span: str | None = None
    agent: str | None = None
    agent_version: str | None = None
    workflow: str | None = None
    meter: Any = field(default=None, compare=False)
    """A :class:`Cost` charged with every call made for this trace, including
    model calls whose output was then rejected: the step pays for what it spent."""


@dataclass
class GenRequest:
    """One thing to generate, with everything needed to do without a model."""

    purpose: str
    prompt: str
    system: str = ""
    fallback: str = ""
    """Deterministic text used when no model output is usable (e.g. an extractive summary)."""
    template: str | None = None
    """Template the final text is rendered with; the model output fills ``slot``."""
    variables: dict[str, Any] = field(default_factory=dict)
    slot: str = "summary"
    max_new_tokens: int | None = None
    sensitive: bool = False
    """Never leaves the machine (the remote tier is skipped)."""
    validate: Callable[[str], str | None] | None = None
    """Returns a reason to reject the output, or None to accept it."""
    prefix: str = ""
    """The answer's first words, given to the model to continue: a small model keeps to a form it is started on."""
    sentences: int | None = None
    """Keep at most this many sentences of the answer (a small model rarely knows when to stop)."""


@dataclass
class Generation:
    """The answer to one request."""

    text: str
    raw: str
    tier: str
    model: str
    fallback_reason: str | None = None
    cached: bool = False
    usage: Any = None
    subject: str = ""

    @property
    def from_model(self) -> bool:
        return self.fallback_reason is None


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _first_paragraph(req: GenRequest, text: str, continued: bool) -> tuple[str, bool]:
    """The primed start put back and the answer cut at its first blank line; whether a blank line was there."""
    text = text.strip()
    if req.prefix:
        if continued:
            text = req.prefix + (" " if not req.prefix.endswith((" ", "\n")) and text[:1].isalnum() else "") + text
        elif not text.startswith(req.prefix.strip()):
            text = req.prefix + " " + text
    head, *rest = text.split("\n\n", 1)
    return head.strip(), bool(rest)


def shape(req: GenRequest, text: str, *, continued: bool = True) -> str:
    """The answer as the caller wants it: its primed start put back, cut to ``sentences``."""
    text, _ = _first_paragraph(req, text, continued)
    if req.sentences:
        parts = _SENTENCE_END.split(text)
        text = " ".join(parts[:req.sentences]).strip()
    return text


def settled(req: GenRequest, text: str) -> bool:
    """Whether more generated text could no longer change ``shape(req, text)``: the model may stop here.

    Two cuts in :func:`shape` become final once something follows them: the
    first blank line, and the end of the last kept sentence (a sentence only
    ends where ``.``, ``!`` or ``?`` is followed by white space, and the text is
    stripped, so a part after it holds a character that is not white space).
    Earlier boundaries cannot move when text is appended, so every later token
    would be cut away anyway. A small model often echoes the prompt or rambles
    on past its one useful sentence; this stops paying for that.
    """
    head, cut = _first_paragraph(req, text, True)
    if cut:
        return True
    return bool(req.sentences) and len(_SENTENCE_END.split(head)) > req.sentences


def default_validation(text: str) -> str | None:
    """Reject empty, assistant-boilerplate, markup-leaking or looping output."""
    t = text.strip()
    if len(t) < 15:
        return f"too short ({len(t)} characters)"
    if len(t) > 2000:
        return "too long"
    m = BAD_OUTPUT.search(t)
    if m:
        return f"boilerplate or markup ({m.group(0)!r})"
    if re.match(r"(hi|hello|dear|hey)\b", t, re.I):
        return "it starts like a letter, not like the requested text"
    if t[-1] not in ".!?)\"'”":
        return "it stops mid-sentence"
    words = t.lower().split()
    if len(words) >= 12 and len(set(words)) / len(words) < 0.35:
        return "repetitive"
    return None


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*%?")
_WORDS = re.compile(r"[a-zäöüßéèøåæ]{4,}")
_SCAFFOLD = re.compile(r"^\s*(meeting|notes|subject|message|email|summary)\s*:", re.I | re.M)
_COMMON = frozenset("that this with from have will been were they their them what when which would could should about "
                    "also into over more most some such than then there these those very your yours ours just like "
                    "make made need needs want wants asked asks said says summary meeting discussed decided".split())


def grounded(source: str, *, min_overlap: float = 0.6) -> Callable[[str], str | None]:
    """A validator: the output may only use numbers found in ``source`` and mostly its words.

    A small model asked to summarise invents dates and figures; this catches
    them (and prompt text echoed back) so the extractive fallback is used.
    """
    src = source.lower()
    src_numbers = {n.rstrip("%").replace(",", ".") for n in _NUMBER.findall(src)}
    src_words = set(_WORDS.findall(src))
    src_flat = " ".join(_WORDS.findall(src))

    def check(text: str) -> str | None:
        if _SCAFFOLD.search(text):
            return "it repeats the prompt's labels"
        words_in_order = _WORDS.findall(text.lower())
        for k in range(len(words_in_order) - 9):
            if " ".join(words_in_order[k:k + 10]) in src_flat:
                return "it copies the source instead of restating it"
        invented = [n for n in _NUMBER.findall(text.lower()) if n.rstrip("%").replace(",", ".") not in src_numbers]
        if invented:
            return f"numbers not in the source: {', '.join(invented[:3])}"
        words = [w for w in _WORDS.findall(text.lower()) if w not in _COMMON]
        if words:
            overlap = sum(w in src_words for w in words) / len(words)
            if overlap < min_overlap:
                return f"only {overlap:.0%} of its words are in the source"
        return None

    return check


class Models:
    """The model tiers of one workspace; see the module docstring."""

    def __init__(self, store: Any, config: Any) -> None:
        self.store = store
        self.config = config
        self.cache = ResponseCache(store)
        name, int8 = embedding_settings(config)
        self.router = Router(str(config.get("models.router", "auto")), name, int8=int8)
        self._local_error: str | None = None

    # -- configuration -------------------------------------------------------------------------

    @property
    def generator(self) -> str:
        """``local`` or ``template`` (``[models] generator = "template"``)."""
        return "template" if str(self.config.get("models.generator", "")).lower() in ("template", "templates", "none") else "local"

    @property
    def batch_size(self) -> int:
        return max(1, int(self.config.get("models.batch_size", 8)))

    def local(self) -> Any:
        from ._local import load_local

        return load_local()

    @property
    def threads(self) -> int:
        """Torch threads for generation: ``[models] threads``; 0 means every usable core (see ``LocalLM.generate``)."""
        return int(self.config.get("models.threads", 0))

    # -- generation ----------------------------------------------------------------------------

    def generate(self, requests: list[GenRequest], *, trace: TraceInfo | None = None) -> list[Generation]:
        """Answer every request (see the module docstring); never raises for a model's failure."""
        trace = trace or TraceInfo()
        n = len(requests)
        raws: list[tuple[str, str, str | None, bool] | None] = [None] * n  # (text, tier, fallback_reason, cached)
        usage: list[Any] = [None] * n
        max_new = int(self.config.get("models.max_new_tokens", 160))
        pending = list(range(n))

        if self.generator == "template":
            self._fallback(requests, pending, raws, usage, "the generator is set to the template tier", trace)
            return self._finish(requests, raws, usage)
        frame_only = [i for i in pending if requests[i].template and requests[i].slot not in
                      placeholders(load_template(self.store, requests[i].template))]
        if frame_only:  # nothing for a model to write: do not spend a generation on it
            self._fallback(requests, frame_only, raws, usage, "the template has no slot for model text", trace)
            pending = [i for i in pending if i not in set(frame_only)]

        # 1. cache
        model_id = self._model_id()
        keys = {i: self.cache_key_for(requests[i]) for i in pending}
        t0, c0 = time.perf_counter(), time.process_time()
        hits = self.cache.get_many(list(keys.values()))
        hit_ids = [i for i in pending if keys[i] in hits]
        if hit_ids:
            cost = Cost(calls=1, tier="cache", cpu_s=time.process_time() - c0)
            for i in hit_ids:
                raws[i] = (hits[keys[i]].output, "cache", None, True)
                usage[i] = cost
            self._account(trace, "cache", "cache", len(hit_ids), 0, 0, cost.cpu_s, time.perf_counter() - t0, t0,
                          cached=True, purpose=requests[hit_ids[0]].purpose)
        pending = [i for i in pending if i not in set(hit_ids)]

        # 2. remote (not for sensitive records)
        remote = None
        if pending:
            from ._remote import RemoteClient

            remote = RemoteClient.from_config(self.config)
        if remote is not None:
            for i in [i for i in pending if not requests[i].sensitive]:
                self._remote_one(remote, requests[i], i, keys[i], raws, usage, trace, max_new)
            pending = [i for i in pending if raws[i] is None]

        # 3. local, batched
        if pending:
            self._local_batches(requests, pending, keys, raws, usage, trace, max_new, model_id)
        return self._finish(requests, raws, usage)

    def cache_key_for(self, req: GenRequest) -> str:
        """The response-cache key of a request: model, prompt and every parameter that changes the answer."""
        max_new = int(self.config.get("models.max_new_tokens", 160))
        return cache_key(self._model_id(), req.system, req.prompt,
                         {"max_new_tokens": req.max_new_tokens or max_new, "prefix": req.prefix, "sentences": req.sentences})

    def _model_id(self) -> str:
        from ._local import MODEL_ID

        return str(self.config.get("models.generator") or MODEL_ID)

    def _remote_one(self, remote: Any, req: GenRequest, i: int, key: str, raws: list[Any], usage: list[Any],
                    trace: TraceInfo, max_new: int) -> None:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            ask = req.prompt + (f"\n\nStart your answer with: {req.prefix}" if req.prefix else "")
            reply = remote.complete(req.system, ask, max_tokens=req.max_new_tokens or max_new, sensitive=req.sensitive)
        except ModelError as exc:
            self._account(trace, "remote", remote.model, 1, 0, 0, time.process_time() - c0, time.perf_counter() - t0, t0,
                          purpose=req.purpose, fallback_reason=str(exc))
            return  # the local tier gets it next
        cpu = time.process_time() - c0
        money = price(self.config, "remote", tokens_in=reply.tokens_in, tokens_out=reply.tokens_out, cpu_s=cpu)
        reply = replace(reply, text=shape(req, reply.text, continued=False))
        problem = self._check(req, reply.text)
        cost = Cost(reply.tokens_in, reply.tokens_out, cpu, money, 1, "remote")
        self._account(trace, "remote", remote.model, 1, reply.tokens_in, reply.tokens_out, cpu, time.perf_counter() - t0, t0,
                      purpose=req.purpose, money=money, fallback_reason=problem)
        if problem is None:
            raws[i] = (reply.text, "remote", None, False)
            usage[i] = cost
            self.cache.put(key, model=f"remote:{remote.model}", tier="remote", output=reply.text,
                           tokens_in=reply.tokens_in, tokens_out=reply.tokens_out)

    def _local_batches(self, requests: list[GenRequest], pending: list[int], keys: dict[int, str], raws: list[Any],
                       usage: list[Any], trace: TraceInfo, max_new: int, model_id: str) -> None:
        if self._local_error is None:
            try:
                lm = self.local()
            except Exception as exc:  # noqa: BLE001  (any failure to load means: use templates)
                self._local_error = f"local model unavailable: {exc}"
        if self._local_error is not None:
            self._fallback(requests, pending, raws, usage, self._local_error, trace)
            return
        timeout = float(self.config.get("models.timeout_s", 120.0))
        # prompts of similar length batch together: less padding to compute
        pending = sorted(pending, key=lambda i: (len(requests[i].system) + len(requests[i].prompt), i))
        for start in range(0, len(pending), self.batch_size):
            chunk = pending[start:start + self.batch_size]
            # each row keeps its own limit: an answer must not depend on what it was batched with (it is cached by its limit)
            budget = [requests[i].max_new_tokens or max_new for i in chunk]
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                outs = lm.generate([(requests[i].system, requests[i].prompt, requests[i].prefix) for i in chunk],
                                   max_new_tokens=budget, max_time=timeout, threads=self.threads,
                                   stop=[functools.partial(settled, requests[i]) for i in chunk])
                outs = [replace(o, text=shape(requests[i], o.text)) for i, o in zip(chunk, outs, strict=True)]
                error = None
            except Exception as exc:  # noqa: BLE001  (a failing generate falls back, the run goes on)
                outs, error = [], f"local generation failed: {type(exc).__name__}: {exc}"
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            if error is None and wall >= timeout * 0.98:
                error = f"local generation timed out after {wall:.1f}s ([models] timeout_s = {timeout:g})"
            t_in = sum(o.tokens_in for o in outs)
            t_out = sum(o.tokens_out for o in outs)
            money = price(self.config, "local", tokens_in=t_in, tokens_out=t_out, cpu_s=cpu)
            cost = Cost(t_in, t_out, cpu, money, 1, "local")
            rejected = 0
            for pos, i in enumerate(chunk):
                if error is not None:
                    continue
                problem = self._check(requests[i], outs[pos].text)
                if problem is None:
                    raws[i] = (outs[pos].text, "local", None, False)
                    usage[i] = cost
                    self.cache.put(keys[i], model=model_id, tier="local", output=outs[pos].text,
                                   tokens_in=outs[pos].tokens_in, tokens_out=outs[pos].tokens_out)
                else:
                    rejected += 1
                    raws[i] = (outs[pos].text, "reject", f"model output failed validation: {problem}", False)
            self._account(trace, "local", model_id, len(chunk), t_in, t_out, cpu, wall, t0, purpose=requests[chunk[0]].purpose,
                          money=money, fallback_reason=error or (f"{rejected} of {len(chunk)} outputs failed validation"
                                                                 if rejected else None))
            failed = [i for i in chunk if raws[i] is None or raws[i][1] == "reject"]
            if failed:
                reasons = {i: (raws[i][2] if raws[i] else error) for i in failed}
                self._fallback(requests, failed, raws, usage, None, trace, reasons=reasons)

    def _check(self, req: GenRequest, text: str) -> str | None:
        problem = default_validation(text)
        if problem is None and req.validate is not None:
            problem = req.validate(text)
        return problem

    def _fallback(self, requests: list[GenRequest], ids: list[int], raws: list[Any], usage: list[Any], reason: str | None,
                  trace: TraceInfo, reasons: dict[int, str | None] | None = None) -> None:
        if not ids:
            return
        t0, c0 = time.perf_counter(), time.process_time()
        for i in ids:
            why = reason or (reasons or {}).get(i) or "no model output"
            raws[i] = (requests[i].fallback, "template", why, False)
        cpu = time.process_time() - c0
        cost = Cost(0, 0, cpu, price(self.config, "template", cpu_s=cpu), 1, "template")
        for i in ids:
            usage[i] = cost
        self._account(trace, "template", "templates", len(ids), 0, 0, cpu, time.perf_counter() - t0, t0,
                      purpose=requests[ids[0]].purpose, money=cost.money,
                      fallback_reason=reason or next(iter((reasons or {}).values()), None))

    def _finish(self, requests: list[GenRequest], raws: list[Any], usage: list[Any]) -> list[Generation]:
        out = []
        for req, raw, use in zip(requests, raws, usage, strict=True):
            text, tier, why, cached = raw
            final, subject = text, ""
            if req.template:
                body = render(load_template(self.store, req.template), {**req.variables, req.slot: text}, name=req.template)
                subject, final = split_subject(body)
            out.append(Generation(final, text, tier, self._model_id() if tier in ("local", "cache") else tier, why, cached,
                                  use, subject))
        return out

    # -- embedding -----------------------------------------------------------------------------

    def embed(self, texts: list[str], *, trace: TraceInfo | None = None) -> Any:
        """Unit vectors for ``texts`` from ``[models] embedding`` (the model memory uses), accounted like any call."""
        from ._embedding import load_embedder

        t0, c0 = time.perf_counter(), time.process_time()
        name, int8 = embedding_settings(self.config)
        emb = load_embedder(name, int8=int8)
        vectors = emb.encode(list(texts))
        tokens = sum(emb.token_lengths(list(texts))) if texts else 0
        cpu = time.process_time() - c0
        self._account(trace or TraceInfo(), "embedding", emb.model_id, len(texts), tokens, 0, cpu, time.perf_counter() - t0,
                      t0, purpose="embed", money=price(self.config, "embedding", tokens_in=tokens, cpu_s=cpu))
        return vectors

    # -- routing -------------------------------------------------------------------------------

    def route(self, texts: list[str], labels: dict[str, list[str]], *, trace: TraceInfo | None = None,
              default: str = "other") -> list[Route]:
        """The router tier for a batch of texts (one accounted call)."""
        t0, c0 = time.perf_counter(), time.process_time()
        before = self.router.embedding_calls
        routes = [self.router.classify(t, labels, default=default) for t in texts]
        cpu = time.process_time() - c0
        method = "embedding" if self.router.embedding_calls > before else "rules"
        self._account(trace or TraceInfo(), "router", f"router:{method}", len(texts), 0, 0, cpu, time.perf_counter() - t0,
                      t0, purpose="route", money=price(self.config, "router", cpu_s=cpu))
        return routes

    # -- accounting ----------------------------------------------------------------------------

    def _account(self, trace: TraceInfo, tier: str, model: str, n: int, tokens_in: int, tokens_out: int, cpu_s: float,
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

    def close(self) -> None:
        """Models stay loaded for the process (they are shared by every workbench in it)."""
