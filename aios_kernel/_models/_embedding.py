"""Sentence embeddings with a local transformer (all-MiniLM-L6-v2 by default).

``transformers.AutoModel``/``AutoTokenizer`` on the model folder, mean
pooling over the attention mask and L2 normalisation: the same vectors as
``sentence_transformers`` gives for that folder (to float rounding). Each
process loads a model once (:func:`load_embedder` caches it), so Dask
workers reuse theirs across batches.

``int8=True`` quantises every linear layer to int8 (dynamic quantisation,
one scale per output channel): about 1.5x faster on CPU, vectors at cosine
0.93-0.99 (median 0.97) of the float ones, and LoCoMo recall within 0.01 of
them (R@10 0.783 against 0.786). The model id then ends in
:data:`INT8_SUFFIX`, so the two kinds of vectors are never mixed: a
workspace embedded with another scheme re-embeds through the model
migration.

A single query (:meth:`Embedder.encode_query`) runs through a TorchScript
trace of the same model: the eager transformers forward spends about as long
in Python as in arithmetic for one short text, and recall waits on it. The
trace is checked against the eager model when it is built and is only ever
given one unpadded text, the case it was traced for; if it cannot be built
or disagrees, queries use the eager model.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "all-MiniLM-L6-v2"
INT8_SUFFIX = "+int8-linear"
"""Ends the id of a quantised model. (Plain ``+int8`` vectors came from a scheme that kept each
block's feed-forward output in float; they are not comparable with these.)"""

TRUNCATED_CHARS = 1_500
"""About the characters a passage keeps at the model's 256 tokens: a longer one costs no more to embed."""
BATCH_CHARS = 12_000
"""A batch's padded size at most, by default, for :meth:`Embedder.encode` (memory's ingests have their own,
``[dask] batch_chars``). The int8 model quantises each batch's activations with one scale, so a vector
depends a little on its batch: the inbound head (``_inbound/data/head.json``) was trained with this bound."""

_CACHE: dict[tuple[str, bool], Embedder] = {}
_LOCK = threading.Lock()
LOADS: list[str] = []
"""Model ids loaded by this process, in order (one entry per load: it should happen once)."""


@dataclass
class Embedder:
    """A loaded embedding model; ``encode`` returns float32 unit vectors."""

    model_id: str
    folder: Path
    dim: int
    max_length: int
    tokenizer: Any
    model: Any
    _traced: Any = field(default=None, repr=False)
    _trace_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def encode_batch(self, texts: Sequence[str]) -> Any:
        """One forward pass over ``texts`` (callers group texts of similar length)."""
        import numpy as np
        import torch

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
        return pooled.float().numpy().astype(np.float32, copy=False)

    def encode_query(self, text: str) -> Any:
        """One short text's vector, on one thread.

        A single short text is too little work to split: with two threads the
        synchronisation costs more than it saves, and on a busy machine it
        costs 5-10x. Through the trace (see the module docstring) one query
        takes about 4 ms with the int8 model.
        """
        import torch

        batch = self.tokenizer([text], truncation=True, max_length=self.max_length, return_tensors="pt")
        with torch_threads(1):
            forward = self._query_forward(batch)
            if forward is None:
                return self.encode_batch([text])[0]
            with torch.inference_mode():
                hidden = forward(batch["input_ids"], batch["attention_mask"])[0]
                return torch.nn.functional.normalize(hidden.mean(1), p=2, dim=1)[0].numpy()

    def _query_forward(self, example: Any) -> Any:
        """The traced single-text forward, built on first use; None where tracing does not hold."""
        if self._traced is None:
            with self._trace_lock:
                if self._traced is None:
                    self._traced = _trace(self, example) or False
        return self._traced or None

    def encode(self, texts: Sequence[str], *, batch_size: int = 64, batch_chars: int = BATCH_CHARS) -> Any:
        """Embed any number of texts, batching texts of similar length together (see :func:`length_batches`)."""
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for idx in length_batches([len(t) for t in texts], batch_size, batch_chars):
            out[idx] = self.encode_batch([texts[i] for i in idx])
        return out

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]]


def trim_heap() -> None:
    """Give the heap memory freed by a batch back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    Model threads free their activations into per-thread arenas that glibc keeps; over thousands of
    batches the process's resident size creeps up though nothing is held. Trimming after each wave
    keeps the peak at what one wave needs.
    """
    import ctypes
    import ctypes.util

    global _LIBC
    if _LIBC is None:
        name = ctypes.util.find_library("c")
        try:
            _LIBC = ctypes.CDLL(name) if name else False
        except OSError:
            _LIBC = False
    if _LIBC and hasattr(_LIBC, "malloc_trim"):
        _LIBC.malloc_trim(0)


_LIBC: Any = None


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, then restore the previous number."""
    import torch

    before = torch.get_num_threads()
    if n <= 0 or n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity mask, not the machine's count)."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def length_batches(lengths: Sequence[int], batch_size: int, max_chars: int | None = None) -> list[list[int]]:
    """Indices grouped into batches of similar length, so little padding is computed.

    ``max_chars`` bounds a batch's padded size (its size times its longest text, counted up to
    :data:`TRUNCATED_CHARS`): a batch's activations grow with it, so long passages go fewer at a
    time and the peak memory of an ingest stays flat whatever the mail.
    """
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    size = max(1, batch_size)
    if not max_chars:
        return [order[s:s + size] for s in range(0, len(order), size)]
    out: list[list[int]] = []
    batch: list[int] = []
    for i in order:  # ascending: the text being added is the batch's longest
        if batch and (len(batch) >= size or (len(batch) + 1) * min(lengths[i], TRUNCATED_CHARS) > max_chars):
            out.append(batch)
            batch = []
        batch.append(i)
    if batch:
        out.append(batch)
    return out


def embedding_settings(config: Any) -> tuple[str, bool]:
    """The one embedding model a workspace uses, as ``(name, int8)``: memory, the router and
    ``Models.embed`` all take it from here, so a process loads it once and their vectors agree."""
    return str(config.get("models.embedding") or DEFAULT_MODEL), bool(config.get("memory.int8", True))


def load_embedder(name: str = DEFAULT_MODEL, *, int8: bool = False, threads: int = 0) -> Embedder:
    """The embedder for ``name`` (a packaged model name or a folder), loaded once per process."""
    from ._locate import embedding_model

    folder, model_id = embedding_model(name)
    key = (str(folder), int8)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = _load(folder, model_id, int8)
        emb = _CACHE[key]
    if threads > 0:
        import torch

        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
    return emb


def _load(folder: Path, model_id: str, int8: bool) -> Embedder:
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    cfg = folder / "sentence_bert_config.json"
    max_length = int(json.loads(cfg.read_text()).get("max_seq_length", 256)) if cfg.exists() else 256
    if int8:
        model = _quantise(model, torch)
        model_id += INT8_SUFFIX
    LOADS.append(model_id)
    return Embedder(model_id, folder, int(model.config.hidden_size), max_length, tokenizer, model)


def _trace(emb: Embedder, example: Any) -> Any:
    """A TorchScript trace of ``emb.model`` for one unpadded text, or None if it does not match eager."""
    import warnings

    import torch

    class PlainOutput(torch.nn.Module):  # tracing needs a tuple, not a ModelOutput
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return (self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state,)

    probes = ["ok", "What did the client say about the invoice for the May workshop, and when is it due?"]
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # TracerWarnings about Python values the unpadded case never varies
            traced = torch.jit.trace(PlainOutput(emb.model), (example["input_ids"], example["attention_mask"]),
                                     check_trace=False)
            for text in probes:
                b = emb.tokenizer([text], return_tensors="pt")
                want = emb.model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).last_hidden_state
                got = traced(b["input_ids"], b["attention_mask"])[0]
                if want.shape != got.shape or float((want - got).abs().max()) > 1e-4:
                    return None
    except Exception:  # noqa: BLE001 - any failure to trace means the eager path, which is always correct
        return None
    return traced


def _quantise(model: Any, torch: Any) -> Any:
    import warnings

    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        # The eager API is deprecated in favour of torchao, which is not installed; it still works.
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, {torch.nn.Linear: per_channel_dynamic_qconfig})
