"""Graded autonomy: may an action run on its own, or does a person decide?

``[policies.actions]`` in aios.toml sets each action kind to ``auto``,
``review`` or ``options``; ``[policies] default`` covers kinds not listed.
Some things are decided here whatever the config says:

- money, legal and publishing actions are always reviewed;
- work below ``min_confidence`` goes to review;
- an action whose evidence includes untrusted content flagged at ingest (a
  prompt injection, possible payment fraud) is never automatic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ALWAYS_REVIEWED = {
    "money": ("invoice", "payment", "refund", "pay_", "transfer", "credit_note", "quote"),
    "legal": ("contract", "sign", "legal", "terms", "nda"),
    "publishing": ("publish", "post_", "tweet", "announce"),
}
"""Categories a person always reviews, recognised by words in the action kind."""


def category(action: str) -> str | None:
    """``money``, ``legal`` or ``publishing`` when ``action`` is one of those, else None."""
    name = action.lower()
    for cat, words in ALWAYS_REVIEWED.items():
        if any(w in name for w in words):
            return cat
    return None


@dataclass(frozen=True)
class Decision:
    """What policy says about one action, and why."""

    mode: str
    """``auto``, ``review`` or ``options``."""
    reasons: list[str] = field(default_factory=list)
    rule: str = ""

    @property
    def automatic(self) -> bool:
        return self.mode == "auto"

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "reasons": self.reasons, "rule": self.rule}


def decide(config: Any, action: str, *, confidence: float = 1.0, untrusted: bool = False, forced: str | None = None,
           covered_by: str | None = None, flags: tuple[str, ...] = ()) -> Decision:
    """The autonomy for ``action`` given the config and the facts of this instance.

    ``untrusted`` says the evidence holds flagged outside content; ``flags`` names the flags, for the reason.
    """
    actions = config.get("policies.actions") or {}
    configured = actions.get(action, config.get("policies.default", "review"))
    rule = f"[policies.actions] {action} = {configured!r}" if action in actions else f"[policies] default = {configured!r}"
    mode = configured
    reasons = [f"configured: {rule}"]
    cat = category(action)
    threshold = float(config.get("policies.min_confidence", 0.6))
    if covered_by:
        return Decision("auto", [f"covered by the approval of step {covered_by!r}"], f"covered_by={covered_by}")
    if forced in ("review", "options"):
        mode = forced
        reasons.append(f"the workflow asks for {forced} at this step")
    if cat is not None and mode == "auto":
        mode = "review"
        reasons.append(f"{cat} actions are always reviewed, whatever the config says")
    elif cat is not None:
        reasons.append(f"{cat} actions are always reviewed")
    if confidence < threshold and mode == "auto":
        mode = "review"
        reasons.append(f"confidence {confidence:.2f} is below min_confidence {threshold:.2f}")
    if untrusted:
        if mode == "auto":
            mode = "review"
        from .._evidence import FLAG_LABELS, INJECTION

        named = ", ".join(FLAG_LABELS.get(f, f) for f in (flags or (INJECTION,)))
        reasons.append(f"its evidence includes untrusted content flagged as {'a ' if len(flags) <= 1 else ''}{named}: "
                       "never automatic")
    return Decision(mode, reasons, rule)
