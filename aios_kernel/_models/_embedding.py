"""Sentence embeddings with a local transformer (all-MiniLM-L6-v2 by default).

``transformers.AutoModel``/``AutoTokenizer`` on the model folder, mean
pooling over the attention mask and L2 normalisation: the same vectors as
``sentence_transformers`` gives for that folder (to float rounding). Each
process loads a model once (:func:`load_embedder` caches it), so Dask
workers reuse theirs across batches.

``int8=True`` quantises the linear layers to int8 (dynamic, per channel),
except each block's feed-forward output, which is most sensitive to it: about
1.5-2x faster on CPU with vectors within a few hundredths of cosine of the
float ones. The model id then ends in ``+int8`` so the two kinds of vectors are
never mixed.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
        costs 5-10x (measured: 15 ms on one thread, 80-200 ms on two).
        """
        with torch_threads(1):
            return self.encode_batch([text])[0]

    def encode(self, texts: Sequence[str], *, batch_size: int = 64) -> Any:
        """Embed any number of texts, batching texts of similar length together."""
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for idx in length_batches([len(t) for t in texts], batch_size):
            out[idx] = self.encode_batch([texts[i] for i in idx])
        return out

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer(list(texts), truncation=True, max_length=self.max_length)["input_ids"]]


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


def length_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length, so little padding is computed."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    return [order[s:s + batch_size] for s in range(0, len(order), max(1, batch_size))]


def load_embedder(name: str = "all-MiniLM-L6-v2", *, int8: bool = False, threads: int = 0) -> Embedder:
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
        model_id += "+int8"
    LOADS.append(model_id)
    return Embedder(model_id, folder, int(model.config.hidden_size), max_length, tokenizer, model)


def _quantise(model: Any, torch: Any) -> Any:
    import warnings

    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    spec = {name: per_channel_dynamic_qconfig for name, mod in model.named_modules()
            if isinstance(mod, torch.nn.Linear) and not (name.endswith("output.dense") and "attention" not in name)}
    with warnings.catch_warnings():
        # The eager API is deprecated in favour of torchao, which is not installed; it still works.
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, spec)
