"""Meeting follow-up: a summary, the action items, and a follow-up e-mail to the attendees."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from .._evidence import snippet
from .._models import GenRequest, grounded
from ._business import as_of, first_name, own_address, owner
from ._protocol import Agent, AgentContext, AgentResult, Evidence

_SECTION = re.compile(r"^#{1,3}\s+(.+?)\s*$", re.M)
_ITEM = re.compile(r"^\s*[-*]\s*(?:\[[ xX]?\]\s*)?(.+?)\s*$")


def sections(body: str) -> dict[str, str]:
    """Markdown ``## Heading`` → text under it (lower-case headings)."""
    out: dict[str, str] = {}
    marks = list(_SECTION.finditer(body))
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(body)
        out[m.group(1).strip().lower()] = body[m.end():end].strip()
    return out


def bullets(text: str) -> list[str]:
    return [m.group(1) for line in text.splitlines() if (m := _ITEM.match(line))]


def action_items(body: str) -> list[dict[str, str]]:
    """``- [ ] Owner: what — due`` lines of the "Action items" (or "Next steps") section."""
    secs = sections(body)
    text = next((v for k, v in secs.items() if k.startswith(("action item", "next step", "to do", "todo"))), "")
    items = []
    for b in bullets(text):
        who, _, what = b.partition(":") if ":" in b[:40] else ("", "", b)
        what = what.strip() or b
        due = ""
        m = re.search(r"\s[—–-]\s*([^—–-]+)$", what)
        if m and re.search(r"\d", m.group(1)):
            due, what = m.group(1).strip(), what[:m.start()].strip()
        items.append({"owner": who.strip(), "what": what, "due": due})
    return items


class SelectMeetings(Agent):
    """Recent meeting notes that have not been followed up yet."""

    name = "followup.select"
    version = "1"
    inputs = {"days": int, "limit": int, "meeting": str, "as_of": str}
    outputs = {"meetings": list}

    def run(self, ctx: AgentContext, *, days: int, limit: int, meeting: str, as_of: str) -> AgentResult:
        today = _as_of(ctx, as_of)
        since = str(today - timedelta(days=days))
        done = ctx.handled("meeting_followup", "followup")
        if meeting:
            rows = ctx.records.artifacts(kinds=("meeting",), id_or_title=meeting, newest_first=True)
        else:
            rows = ctx.records.artifacts(kinds=("meeting",), since=since, until=str(today), newest_first=True)
        picked = [{"id": r["id"], "ref": f"artifact:{r['id']}", "title": r["title"], "date": r["date"],
                   "client_id": r["client_id"], "project_id": r["project_id"]} for r in rows if r["id"] not in done][:limit]
        return AgentResult({"meetings": picked}, note=f"{len(picked)} meeting(s) since {since} to follow up")


def _as_of(ctx: AgentContext, given: str) -> Any:
    return as_of(ctx.records, given)


class ExtractNotes(Agent):
    """Attendees' addresses and the action items of each meeting (rules: numbers and names are copied, not generated)."""

    name = "followup.extract"
    version = "1"
    inputs = {"meetings": list}
    outputs = {"notes": dict}

    def run(self, ctx: AgentContext, *, meetings: list[dict[str, Any]]) -> AgentResult:
        me = own_address(ctx.config)
        out: dict[str, Any] = {}
        evidence = []
        for m in meetings:
            row = ctx.records.artifact(m["id"]) or {"body": "", "meta": {}, "source_path": ""}
            meta = row["meta"] or {}
            names = [n.strip() for n in str(meta.get("attendees", "")).split(",") if n.strip()]
            to, greet = [], []
            for n in names:
                c = ctx.records.contact_named(n)
                if c is not None and c["email"] != me:
                    to.append(c["email"])
                    greet.append(first_name(c["name"]))
            if not to:
                c = ctx.records.primary_contact(m["client_id"])
                if c is not None:
                    to, greet = [c["email"]], [first_name(c["name"])]
            items = action_items(row["body"])
            out[m["id"]] = {"to": to, "greeting": " and ".join(greet[:2]) or "all", "attendees": names,
                            "action_items": items}
            evidence.append(Evidence(m["ref"], snippet(row["body"], "action items decisions"), f"meeting note {row['source_path']}"))
        return AgentResult({"notes": out}, evidence=evidence,
                           note=f"{sum(len(v['action_items']) for v in out.values())} action item(s) in {len(out)} meeting(s)")


class DraftFollowup(Agent):
    """Summary (local LM, one batch; extractive fallback) and the follow-up e-mail from the template."""

    name = "followup.draft"
    version = "1"
    inputs = {"meetings": list, "notes": dict}
    outputs = {"emails": list}
    uses_models = True

    SYSTEM = "You summarise business meeting notes in two plain sentences, past tense, no lists, no greeting."

    def run(self, ctx: AgentContext, *, meetings: list[dict[str, Any]], notes: dict[str, Any]) -> AgentResult:
        me = owner(ctx.config)
        requests, items = [], []
        for m in meetings:
            n = notes[m["id"]]
            if not n["to"]:
                continue
            body = (ctx.records.artifact(m["id"]) or {}).get("body") or ""
            secs = sections(body)
            key = next((k for k in secs if k.startswith(("decision", "outcome", "observation", "result"))), None)
            points = bullets(secs[key])[:4] if key else []
            if not points:
                points = [p for k, v in secs.items() if not k.startswith("action") for p in bullets(v)][:3]
            fallback = "\n".join(f"- {p}" for p in points) or snippet(body, "", 300)
            listing = "\n".join(f"- {i['owner'] + ': ' if i['owner'] else ''}{i['what']}{' (by ' + i['due'] + ')' if i['due'] else ''}"
                                for i in n["action_items"]) or "- (none recorded)"
            client = ctx.records.client(m["client_id"])
            requests.append(GenRequest(
                "followup", f"Meeting: {m['title']} ({m['date']})\nNotes:\n{(secs.get(key) if key else body)[:700]}\n\n"
                "Summarise what was decided, in two sentences.",
                system=self.SYSTEM, fallback=fallback, template="followup_meeting", slot="summary", max_new_tokens=64,
                validate=grounded(body), prefix="We agreed", sentences=2,
                variables={"subject": m["title"], "contact_first_name": n["greeting"], "action_items": listing, "owner": me}))
            items.append({"meeting_id": m["id"], "to": n["to"], "client_name": client["name"] if client else None,
                          "title": m["title"], "action_items": n["action_items"],
                          "evidence": [Evidence(m["ref"], snippet(body, "decided action items"), f"meeting note {m['date']}").to_json()]})
        gens = ctx.generate(requests) if requests else []
        for item, g in zip(items, gens, strict=True):
            item.update(subject=g.subject or f"Summary: {item['title']}", body=g.text, drafted_by=g.tier,
                        fallback_reason=g.fallback_reason, confidence=0.8 if g.from_model else 0.7)
        return AgentResult({"emails": items}, confidence=min((i["confidence"] for i in items), default=1.0),
                           note=f"{len(items)} follow-up e-mail(s) drafted")
