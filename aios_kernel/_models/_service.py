"""One interface to every model tier: ``wb.models``.

``generate`` takes a batch of :class:`GenRequest` and answers each, handing
what is still unanswered to each tier in turn (``_tiers``): the response
cache, the remote tier (only if enabled, never for sensitive requests), the
local LM (all misses in batches of ``[models] batch_size``, one ``generate``
call each), and finally the deterministic template tier when a model is
unavailable, times out, or its output fails validation. Every call is
accounted as a ``model.called`` event (tokens, CPU-seconds, money) attached
to the step that made it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._cache import ResponseCache, cache_key
from ._embedding import embedding_settings
from ._router import Route, Router
from ._templates import Templates, placeholders, render, split_subject
from ._tiers import Batch, CacheTier, LocalTier, Meter, RemoteTier, TemplateTier

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

    def __init__(self, store: Any, config: Any, *, templates: Callable[[str], str | None] | None = None) -> None:
        self.store = store
        self.config = config
        self.templates = Templates(templates)
        self.cache = ResponseCache(store)
        name, int8 = embedding_settings(config)
        self.router = Router(str(config.get("models.router", "auto")), name, int8=int8)
        self.meter = Meter(store, config)
        self.template_tier = TemplateTier(self.meter)
        self.tiers = (CacheTier(self.meter, self.cache), RemoteTier(self.meter, self.cache, self._check, shape),
                      LocalTier(self.meter, self.cache, self.template_tier, model_id=self._model_id, load=self.local,
                                check=self._check, shape=shape, settled=settled))
        """Tried in this order for every request still unanswered; the template tier answers what is left."""

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
        batch = Batch(list(requests), trace or TraceInfo(), int(self.config.get("models.max_new_tokens", 160)))
        if self.generator == "template":
            self.template_tier.answer(batch, batch.pending(), reason="the generator is set to the template tier")
            return self._finish(batch)
        frame_only = [i for i in batch.pending() if requests[i].template and requests[i].slot not in
                      placeholders(self.templates.get(requests[i].template))]
        # nothing for a model to write: do not spend a generation on it
        self.template_tier.answer(batch, frame_only, reason="the template has no slot for model text")
        batch.keys = {i: self.cache_key_for(requests[i]) for i in batch.pending()}
        for tier in self.tiers:
            pending = batch.pending()
            if not pending:
                break
            tier.answer(batch, pending)
        self.template_tier.answer(batch, batch.pending())
        return self._finish(batch)

    def cache_key_for(self, req: GenRequest) -> str:
        """The response-cache key of a request: model, prompt and every parameter that changes the answer."""
        max_new = int(self.config.get("models.max_new_tokens", 160))
        return cache_key(self._model_id(), req.system, req.prompt,
                         {"max_new_tokens": req.max_new_tokens or max_new, "prefix": req.prefix, "sentences": req.sentences})

    def _model_id(self) -> str:
        from ._local import MODEL_ID

        return str(self.config.get("models.generator") or MODEL_ID)

    def _check(self, req: GenRequest, text: str) -> str | None:
        problem = default_validation(text)
        if problem is None and req.validate is not None:
            problem = req.validate(text)
        return problem

    def _finish(self, batch: Batch) -> list[Generation]:
        out = []
        for req, answer, use in zip(batch.requests, batch.answers, batch.usage, strict=True):
            assert answer is not None  # the template tier answers whatever is left
            text, tier, why, cached = answer
            final, subject = text, ""
            if req.template:
                body = render(self.templates.get(req.template), {**req.variables, req.slot: text}, name=req.template)
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
        self.meter.record(trace or TraceInfo(), "embedding", emb.model_id, len(texts), tokens, 0, cpu,
                          time.perf_counter() - t0, t0, purpose="embed",
                          money=self.meter.price("embedding", tokens_in=tokens, cpu_s=cpu))
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
        self.meter.record(trace or TraceInfo(), "router", f"router:{method}", len(texts), 0, 0, cpu,
                          time.perf_counter() - t0, t0, purpose="route", money=self.meter.price("router", cpu_s=cpu))
        return routes

    def close(self) -> None:
        """Models stay loaded for the process (they are shared by every workbench in it)."""
