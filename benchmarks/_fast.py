"""Workspaces on fast settings, shared by the tests and the crash harness.

The template tier for text and rules for routing (no model is loaded), keyword
retrieval, retries after milliseconds, and e-mail and publishing through the
ledger (the connectors named ``email`` and ``site`` of kind ``ledger``), so
every effect, sends and posts included, is one line of one file that a check
can count.
"""

from __future__ import annotations

from pathlib import Path

ORCHESTRATOR = """
[orchestrator]
retriever = "keyword"
backoff_base_s = 0.01
backoff_max_s = 0.05
max_wait_s = 5
"""


def make_fast(root: Path, extra: str = "", *, heartbeat_s: float | None = 0.5) -> Path:
    """Rewrite ``root``'s aios.toml for fast runs; ``extra`` is appended (more tables)."""
    cfg = root / "aios.toml"
    text = cfg.read_text()
    text = text.replace('generator = "SmolLM2-135M-Instruct"', 'generator = "template"\nrouter = "rules"')
    text = text.replace("[connectors.email]\n", '[connectors.email]\nkind = "ledger"\n', 1)
    text = text.replace("[connectors.site]\n", '[connectors.site]\nkind = "ledger"\n', 1).replace(
        'path = "site"\n', 'path = "ledger.jsonl"\n', 1)
    fast = ORCHESTRATOR + (f"heartbeat_s = {heartbeat_s}\n" if heartbeat_s is not None else "")
    cfg.write_text(text + fast + extra)
    return root
