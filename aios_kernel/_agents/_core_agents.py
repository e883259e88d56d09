"""The general agents: Retriever (evidence from memory), Synthesizer (text from evidence), Executor (actions)."""

from __future__ import annotations

from typing import Any

from .._models import GenRequest, grounded
from ._business import owner
from ._protocol import Agent, AgentContext, AgentResult, Evidence


class Retriever(Agent):
    """For each item, the ``k`` most relevant records in memory (same client when ``scope`` names a field)."""

    name = "retriever"
    version = "1"
    inputs = {"items": list, "query": (str, list), "k": int}
    outputs = {"evidence": dict}

    def run(self, ctx: AgentContext, *, items: list[dict[str, Any]], query: str | list[str], k: int,
            scope: str = "", kind: str = "") -> AgentResult:
        fields = [query] if isinstance(query, str) else list(query)
        out: dict[str, list[dict[str, Any]]] = {}
        all_ev: list[Evidence] = []
        for item in items:
            text = " ".join(str(item.get(f, "")) for f in fields).strip()
            if not text:
                out[str(item.get("id"))] = []
                continue
            where: dict[str, Any] = {}
            if scope and item.get(scope):
                where["client_id" if scope.endswith("client_id") else scope] = item[scope]
            if kind:
                where["kind"] = kind
            found = [f for f in ctx.recall(text, k=k + 1, where=where) if f.ref != item.get("ref")][:k]
            evs = [f.focused(text) for f in found]
            out[str(item.get("id"))] = [e.to_json() for e in evs]
            all_ev.extend(evs)
        return AgentResult({"evidence": out}, evidence=all_ev[:20],
                           note=f"{sum(map(len, out.values()))} piece(s) of evidence for {len(items)} item(s)")


class Synthesizer(Agent):
    """Write a text from evidence: the model fills the template's slot, the template frames it."""

    name = "synthesizer"
    version = "1"
    inputs = {"instruction": str, "evidence": (list, dict), "template": str, "variables": dict}
    outputs = {"text": str, "subject": str, "tier": str}
    uses_models = True

    SYSTEM = "You write concise, concrete notes for a consultant's newsletter. Plain text lines starting with '- '."

    def run(self, ctx: AgentContext, *, instruction: str, evidence: list[Any] | dict[str, Any], template: str,
            variables: dict[str, Any], slot: str = "points", id: str = "text") -> AgentResult:
        evs = [e for group in evidence.values() for e in group] if isinstance(evidence, dict) else list(evidence)
        lines = [f"- {e.get('snippet', '')[:220]}" for e in evs[:5]]
        fallback = "\n".join(f"- {_first_sentence(e.get('snippet', ''))}" for e in evs[:3]) or "- (no notes found for this week)"
        prompt = f"{instruction}\n\nNotes:\n" + "\n".join(lines)
        g = ctx.generate([GenRequest("synthesis", prompt, system=self.SYSTEM, fallback=fallback, template=template,
                                     variables={"owner": owner(ctx.config), **variables}, slot=slot, max_new_tokens=120,
                                     sensitive=any(e.get("sensitive") for e in evs),
                                     validate=_all(_bullets, grounded(" ".join(str(e.get("snippet", "")) for e in evs))))])[0]
        ev = [Evidence.from_json(e) for e in evs[:5]]
        conf = 0.75 if g.from_model else 0.65
        return AgentResult({"text": g.text, "subject": g.subject, "tier": g.tier, "id": id, "raw": g.raw,
                            "fallback_reason": g.fallback_reason, "evidence": [e.to_json() for e in ev],
                            "confidence": conf, **variables},
                           evidence=ev, confidence=conf, note=f"drafted with the {g.tier} tier from {len(evs)} note(s)")


def _first_sentence(text: str) -> str:
    text = " ".join(text.replace("…", " ").split())
    for stop in (". ", "! ", "? "):
        if stop in text:
            return text.split(stop, 1)[0] + stop.strip()
    return text[:160]


def _all(*checks: Any) -> Any:
    def check(text: str) -> str | None:
        return next((r for c in checks if (r := c(text)) is not None), None)

    return check


def _bullets(text: str) -> str | None:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return None if any(ln.lstrip().startswith(("-", "*", "•")) for ln in lines) else "no bullet points"


def _event_payload(item: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A ``create_event`` payload: title, start and end (or duration_min), attendees, location, description."""
    payload = {k: item[k] for k in ("title", "start", "end", "duration_min", "attendees", "location", "description")
               if item.get(k) not in (None, "", [])}
    who = f" with {', '.join(payload['attendees'])}" if payload.get("attendees") else ""
    return payload, f"Put “{payload.get('title', '')}” in the calendar at {payload.get('start', '?')}{who}"


def _email_payload(item: dict[str, Any]) -> tuple[dict[str, Any], str]:
    to = item.get("to") if isinstance(item.get("to"), list) else [item.get("to")]
    payload = {"to": [t for t in to if t], "subject": item.get("subject", ""), "body": item.get("body", "")}
    if item.get("in_reply_to"):
        payload["in_reply_to"] = item["in_reply_to"]
    if item.get("attachments"):
        payload["attachments"] = item["attachments"]
    return payload, f"Send “{payload['subject']}” to {', '.join(payload['to'])}"


def _render(kind: str, item: dict[str, Any]) -> tuple[dict[str, Any], str]:
    if kind == "event":
        return _event_payload(item)
    if kind == "email":
        return _email_payload(item)
    if kind == "quarantine":
        payload = {"email_id": item["email_id"], "from": item.get("to"), "subject": item.get("subject"),
                   "flags": item.get("flags", []), "reason": item.get("reason", ""), "reasons": item.get("reasons", [])}
        what = "Possible payment fraud" if "possible_fraud" in payload["flags"] else "Suspicious message"
        return payload, f"{what} from {item.get('to')}: “{item.get('subject')}” (quarantine it?)"
    if kind == "triage_question":
        payload = {"email_id": item["email_id"], "from": item.get("to"), "subject": item.get("subject"),
                   "question": item.get("question", ""), "decision": "reply"}
        return payload, f"Does “{item.get('subject')}” from {item.get('to')} need a reply?"
    if kind == "invoice":
        if item.get("problem"):  # the computation found this invoice cannot be issued as it stands
            from .._errors import ValidationError

            raise ValidationError(item["problem"]["message"], field=item["problem"].get("field"))
        payload = {k: item[k] for k in ("ref", "client", "client_id", "buyer", "project", "project_name", "period", "month",
                                        "po", "lines", "tax", "net", "vat", "total", "currency", "issue_date", "due_date",
                                        "to", "document") if k in item}
        return payload, (f"Issue the invoice {item['ref']} to {item['client']}: {item['total']} {item['currency']}"
                         f" (net {item['net']}, VAT {item['vat']})")
    if kind == "post":
        payload = {"channel": "linkedin", "title": item.get("subject") or item.get("topic", ""), "body": item.get("text", "")}
        return payload, f"Publish the weekly post “{payload['title']}”"
    from .._errors import ValidationError

    raise ValidationError(f"the executor cannot render {kind!r}; kinds: email, quarantine, triage_question, invoice, "
                          "invoice_email, post", field="kind")


class Executor(Agent):
    """Render the exact payload of an action from an item; the runner decides (policy) and applies it (outbox)."""

    name = "executor"
    version = "1"
    inputs = {"item": dict, "kind": str}
    outputs = {"payload": dict, "title": str}

    def run(self, ctx: AgentContext, *, item: dict[str, Any], kind: str) -> AgentResult:
        payload, title = _render(kind, item)
        evidence = [Evidence.from_json(e) for e in item.get("evidence", [])]
        conf = float(item.get("confidence", 1.0) or 1.0)
        out = {"payload": payload, "title": title, "flagged": bool(item.get("flagged")),
               "drafted_by": item.get("drafted_by") or item.get("tier"), "flags": list(item.get("flags") or [])}
        if kind == "triage_question":  # a cheap question instead of a draft: every answer is recorded as the decision
            out["options"] = [{"id": choice, "label": label, "payload": {**payload, "decision": choice}}
                              for choice, label in (("reply", "It needs a reply: draft one in the next triage run"),
                                                    ("file", "File it: no reply needed"),
                                                    ("ignore", "Ignore it"))]
        return AgentResult(out, evidence=evidence, confidence=conf, note=title)
