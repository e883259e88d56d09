"""Inbox triage: decide what each open thread needs, and draft only the replies worth approving.

What ingest found in each message (the inbound library, ``meta["inbound"]``)
decides first, the router only names the topic:

- a message flagged as a prompt injection or possible payment fraud is a
  review item (quarantine), with the reasons that flagged it; never a reply;
- automated mail (notification, newsletter, receipt) is filed: no approval,
  no draft (what matters in it is already a fact in memory, from ingest);
- a thread needs a reply only when its latest message is inbound and asks
  something of the reader; one that settles the thread ("Thursday 26
  November, 14:00 it is") or asks nothing is filed;
- when that is uncertain (questions in the air, nobody addressed, and no
  note of the owner's about the message), the operator gets a cheap question,
  reply / file / ignore, instead of a drafted e-mail. A "reply" there makes the
  next triage run draft one.

A draft answers with facts (:mod:`._answers`): the owner's notes about the
message, memory, the records; meeting times only in the future and in the
owner's working hours (:mod:`._slots`). The message's own words never reach
the draft: the model writes one opening sentence, from a prompt that quotes
the message only through :func:`~aios_kernel._inbound.spotlight`, checked by
:func:`~aios_kernel._models.grounded` against trusted text and for echoes of
the message. E-mail bodies are untrusted evidence throughout.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from .._entities import normalise_name
from .._errors import ConnectorError
from .._entities._mail import flag_reasons
from .._entities._reconcile import email_domain
from .._evidence import FRAUD, INJECTION, snippet
from .._models import GenRequest, grounded
from . import _answers, _slots
from ._business import add_business_days, as_of, billing_address, email_row, first_name, own_domain, owner
from ._protocol import Agent, AgentContext, AgentResult, Evidence

LABELS: dict[str, list[str]] = {
    "billing": ["invoice", "invoices", "payment", "paid", "remittance", "po number", "purchase order", "receipt", "overdue",
                "bank details", "billing", "close the october books", "books"],
    "scheduling": ["reschedule", "can we move", "move it", "availability", "calendar", "time slot", "coffee",
                   "different day", "which day", "free on", "call on", "next week", "dates", "visit dates"],
    "request": ["proposal", "request for proposal", "quote", "scope", "in scope", "could you", "can you", "would you",
                "looking for help", "change request", "interested", "speaker", "speaking", "please upload", "send us"],
    "update": ["fyi", "for your records", "is live", "results", "interim", "notes on", "prototype", "tests", "update"],
    "newsletter": ["unsubscribe", "newsletter", "issue", "subscribed", "jobs board", "forward it to a colleague"],
    "spam": ["guaranteed", "page 1 on google", "rankings", "seo", "backlinks", "limited offer"],
}
REPLY_LABELS = ("billing", "scheduling", "request")
FILED_LABELS = ("newsletter", "spam")
"""Router labels filed without a reply when the router is this sure (and nothing else says a reply is wanted)."""
ASK_BELOW = 0.75
"""A reply decision less sure than this (and not backed by a note of the owner's) becomes a question to the operator."""
AUTOMATED_SURE = 0.7
"""Automated mail at least this sure is filed even when it seems to ask something ("reply to this e-mail if ...")."""
ACTIONS = ("reply", "file", "quarantine", "ask")
_SCHEDULING = re.compile(r"\b(?:call|meet|meeting|coffee|lunch|dinner|time for|free (?:on|for)|available|availability|"
                         r"reschedule|move (?:it|the)|instead|slot|diary|calendar|visit|come (?:up|over|by))\b", re.I)


def _inbound(records: Any, config: Any) -> list[dict[str, Any]]:
    mine = own_domain(config)
    rows = records.emails()
    latest: dict[str, dict[str, Any]] = {}
    for e in rows:
        latest[e["meta"].get("thread_id") or e["id"]] = e  # rows are in date order: the last one wins
    out = []
    for e in latest.values():
        sender = str(e["meta"].get("from", "")).lower()
        if sender.endswith("@" + mine):
            continue  # our own message is the latest in the thread: nothing waits for us
        out.append(e)
    return sorted(out, key=lambda e: (e["date"] or "", e["id"]))


def _findings(meta: dict[str, Any]) -> dict[str, Any]:
    """The part of ingest's findings triage decides on (small: it travels in every step's checkpoint)."""
    inbound = meta.get("inbound") or {}
    auto = inbound.get("automated") or None
    q = inbound.get("asks") or {}
    return {"automated": {"kind": auto["kind"], "confidence": auto["confidence"]} if auto else None,
            "asks": {"expects_reply": bool(q.get("expects_reply")), "confidence": float(q.get("confidence", 0.0)),
                     "settles": bool(q.get("settles")), "addressed": int(q.get("addressed", 0)),
                     "questions": len(q.get("questions") or [])},
            "checked": "error" not in inbound and bool(inbound)}


def _operator_replies(ctx: AgentContext) -> set[str]:
    """Messages the operator answered "reply" about (on a triage question) that no run has drafted for yet."""
    chosen = {key for key, outs in ctx.item_outputs("inbox_triage", "reply", "ask").items()
              if (outs[-1].get("payload") or {}).get("decision") == "reply"}
    if not chosen:
        return set()
    drafted = {r["email_id"] for outs in ctx.earlier_outputs("inbox_triage", "drafts") for r in outs.get("replies", [])
               if r.get("needs_reply")}
    return chosen - drafted


class InboxSelect(Agent):
    """The threads whose latest message is inbound, not yet triaged by an earlier run, with what ingest found in each."""

    name = "inbox.select"
    version = "2"
    inputs = {"since": str, "limit": int}
    outputs = {"emails": list}

    def run(self, ctx: AgentContext, *, since: str, limit: int) -> AgentResult:
        handled = ctx.handled("inbox_triage", "reply")
        # Messages an earlier run looked at and found nothing to do for (filed, settled) count as handled too.
        for outputs in ctx.earlier_outputs("inbox_triage", "inbox"):
            handled |= {e["id"] for e in outputs.get("emails", [])}
        again = _operator_replies(ctx)
        picked = []
        for e in _inbound(ctx.records, ctx.config):
            if (e["id"] in handled and e["id"] not in again) or (since and (e["date"] or "") < since):
                continue
            m = e["meta"]
            picked.append({"id": e["id"], "ref": f"artifact:{e['id']}", "subject": e["title"], "from": m.get("from", ""),
                           "from_name": m.get("from_name", ""), "date": e["date"], "thread_id": m.get("thread_id"),
                           "message_id": m.get("message_id"), "flags": list(m.get("flags") or []),
                           "client_id": e["client_id"], "project_id": e["project_id"], **_findings(m),
                           **({"operator": "reply"} if e["id"] in again else {})})
        picked = picked[-limit:] if limit else picked
        return AgentResult({"emails": picked}, note=f"{len(picked)} thread(s) end with a message from outside "
                                                    f"({len(handled)} handled earlier, {len(again)} to draft on your word)")


def _names(records: Any, e: dict[str, Any]) -> list[str]:
    """How the owner may write the sender's name in a note: first name, full name, both spellings of a contact."""
    contact = records.contact_by_email(e["from"]) or {}
    full = [n for n in [contact.get("name"), *(contact.get("aliases") or []), e.get("from_name")] if n]
    out: list[str] = []
    for n in full:
        for v in (n, first_name(n)):
            if v and v != "there" and v not in out:
                out.append(v)
    return out


def _day(e: dict[str, Any]) -> date:
    return date.fromisoformat((e.get("date") or "1970-01-01")[:10])


def _pointers(ctx: AgentContext, emails: list[dict[str, Any]]) -> dict[str, list[tuple[dict[str, Any], str]]]:
    """For each message, the lines of the owner's notes about it (see :func:`._answers.pointing_lines`)."""
    out = {}
    for e in emails:
        others = {_day(o) for o in emails if o["from"] == e["from"] and o["id"] != e["id"]}
        out[e["id"]] = _answers.pointing_lines(ctx.records, names=_names(ctx.records, e), day=_day(e), others=others)
    return out


def decide(e: dict[str, Any], route: Any, pointed: bool) -> dict[str, Any]:
    """What a message needs: ``reply``, ``file``, ``quarantine`` or ``ask`` (the operator), with a label, confidence and why."""
    base = {"label": route.label, "confidence": route.confidence, "method": route.method, "matched": list(route.matched)}
    auto, q = e.get("automated"), e.get("asks") or {}
    if INJECTION in e["flags"]:
        return {**base, "label": "suspicious", "confidence": 0.99, "method": "flag", "matched": [INJECTION], "action": "quarantine",
                "reason": "flagged as a prompt-injection attempt at ingest"}
    if FRAUD in e["flags"]:
        return {**base, "label": "fraud", "confidence": 0.95, "method": "flag", "matched": [FRAUD], "action": "quarantine",
                "reason": "asks to change payment details, pay, or send credentials or documents to a new address: "
                          "possible fraud; check with the sender on a number you already know"}
    if not e.get("checked", True):
        return {**base, "confidence": 0.5, "action": "ask", "reason": "ingest could not check this message"}
    if e.get("operator") == "reply":
        return {**base, "confidence": 1.0, "method": "operator", "action": "reply", "reason": "you said it needs a reply"}
    if auto and (auto["confidence"] >= AUTOMATED_SURE or not q.get("addressed")):
        return {**base, "label": auto["kind"], "confidence": auto["confidence"], "method": "automated", "action": "file",
                "reason": f"automated mail ({auto['kind']}): filed, no reply"}
    if auto:
        return {**base, "label": auto["kind"], "confidence": auto["confidence"], "method": "automated", "action": "ask",
                "reason": f"looks automated ({auto['kind']}, {auto['confidence']:.2f}) but asks something"}
    if route.label in FILED_LABELS and route.confidence >= 0.5 and not pointed:
        return {**base, "action": "file", "reason": f"{route.label}: filed, no reply"}
    if q.get("settles"):
        return {**base, "confidence": max(0.6, float(q.get("confidence", 0.6))), "action": "file",
                "reason": "it confirms what was agreed and settles the thread"}
    if not q.get("expects_reply"):
        return {**base, "confidence": float(q.get("confidence", 0.6)), "action": "file",
                "reason": "it asks nothing of you"}
    conf = float(q.get("confidence", 0.5))
    if pointed:
        return {**base, "confidence": max(conf, 0.9), "action": "reply",
                "reason": "it asks something, and your notes say what to answer"}
    if q.get("addressed") and conf >= ASK_BELOW:
        return {**base, "confidence": conf, "action": "reply", "reason": f"{q.get('addressed')} question(s) put to you"}
    return {**base, "confidence": conf, "action": "ask",
            "reason": "its questions are not clearly put to you: does it need a reply?"}


class Classify(Agent):
    """Label each message (router tier for the topic, ingest's findings for what it needs) with a confidence."""

    name = "triage.classify"
    version = "2"
    inputs = {"emails": list}
    outputs = {"labels": dict}
    uses_models = True

    def run(self, ctx: AgentContext, *, emails: list[dict[str, Any]]) -> AgentResult:
        texts = []
        for e in emails:
            body = email_row(ctx.records, e["id"])["body"]
            texts.append(f"{e['subject']}\n{body[:1500]}")
        routes = ctx.route(texts, LABELS) if texts else []
        pointers = _pointers(ctx, emails)
        labels: dict[str, Any] = {}
        for e, route in zip(emails, routes, strict=True):
            d = decide(e, route, bool(pointers[e["id"]]))
            d["needs_reply"] = d["action"] == "reply"
            labels[e["id"]] = d
        conf = min((v["confidence"] for v in labels.values()), default=1.0)
        counts: dict[str, int] = {}
        for v in labels.values():
            counts[v["action"]] = counts.get(v["action"], 0) + 1
        return AgentResult({"labels": labels}, confidence=conf,
                           note="; ".join(f"{k} {n}" for k, n in sorted(counts.items())) or "nothing to triage")


class FindClient(Agent):
    """Which client each message is from: contact address, then domain, then the sender's name.

    ``normalise`` compares names; replaying history through a different one
    shows which messages would be attributed differently.
    """

    name = "triage.find_client"
    version = "1"
    inputs = {"emails": list}
    outputs = {"clients": dict}

    def __init__(self, normalise: Callable[[str], str] = normalise_name) -> None:
        self.normalise = normalise

    def run(self, ctx: AgentContext, *, emails: list[dict[str, Any]]) -> AgentResult:
        clients = ctx.records.clients()
        names: dict[str, str] = {}
        domains: dict[str, str] = {}
        for c in clients:
            for n in [c["name"], *(c["aliases"] or [])]:
                names.setdefault(self.normalise(n), c["id"])
            if c["domain"]:
                domains[c["domain"].lower()] = c["id"]
        out: dict[str, Any] = {}
        found = 0
        for e in emails:
            sender = e["from"].lower()
            contact = ctx.records.contact_by_email(sender)
            client_id, how = None, "unknown sender"
            if contact and contact.get("client_id"):
                client_id, how = contact["client_id"], "contact address"
            elif email_domain(sender) in domains:
                client_id, how = domains[email_domain(sender)], "e-mail domain"
            else:
                key = self.normalise(e.get("from_name") or "")
                if key and key in names:
                    client_id, how = names[key], "sender name"
            client = ctx.records.client(client_id)
            contact_name = (contact or {}).get("name") or e.get("from_name") or sender
            out[e["id"]] = {"client_id": client_id, "client_name": client["name"] if client else None,
                            "contact_name": contact_name, "first_name": first_name(contact_name), "how": how}
            found += client_id is not None
        return AgentResult({"clients": out}, confidence=1.0 if not emails else 0.6 + 0.4 * found / len(emails),
                           note=f"{found} of {len(emails)} sender(s) matched to a client")


def _not_about(name: str):  # type: ignore[no-untyped-def]
    """Reject text that speaks of the owner in the third person: the reply is written as her."""
    def check(text: str) -> str | None:
        return f"it speaks of {name} in the third person" if name and re.search(rf"\b{re.escape(name)}\b", text) else None

    return check


def no_echo(untrusted: str, trusted: str, n: int = 4):  # type: ignore[no-untyped-def]
    """Reject text that repeats ``n`` words in a row of the outside message (unless trusted text has them too)."""
    def grams(text: str) -> set[tuple[str, ...]]:
        words = re.findall(r"\w+", text.lower())
        return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}

    outside = grams(untrusted) - grams(trusted)

    def check(text: str) -> str | None:
        hit = grams(text) & outside
        return f"it repeats the message's words ({' '.join(sorted(hit)[0])!r})" if hit else None

    return check


def _all_of(*checks):  # type: ignore[no-untyped-def]
    def check(text: str) -> str | None:
        return next((r for c in checks if (r := c(text)) is not None), None)

    return check


OPENING = "Thank you for your message."
"""The opening sentence when no model writes one (or what it wrote fails the checks)."""
REPLY_SYSTEM = "You help Maja, an independent consultant, answer her e-mail. Be brief and warm."
OPENING_WORDS = ("thank thanks message note update news writing getting touch letting know kind words invitation lovely "
                 "great good hear glad happy help question questions")
"""Words an opening sentence may use besides the subject's and the facts' (what :func:`grounded` accepts)."""


def reply_request(subject: str, body: str, **fields: Any) -> GenRequest:
    """The model's part of a reply draft: one opening sentence, started on "Thank you for".

    The message (its newest part, cut to 400 characters: an opening needs its gist) is quoted only through
    :func:`~aios_kernel._inbound.spotlight`: marked as data, never as instructions.
    ``fields`` fill the rest of the request (fallback, template, checks).
    """
    from .._inbound import spotlight

    s = spotlight(body[:400], source="the e-mail Maja is answering (outside content)")
    prompt = (f"{s.preamble}\n\n{s.block}\n\nSubject: {subject}\n\nWrite the first sentence of Maja's reply: thank the "
              "sender in a few plain words. Do not answer the e-mail and do not repeat what it asks.")
    return GenRequest("reply", prompt, system=REPLY_SYSTEM, max_new_tokens=24, prefix="Thank you for", sentences=1,
                      **fields)


def _latest(body: str, inbound: dict[str, Any]) -> str:
    n = int(inbound.get("latest_chars") or len(body))
    return body[:n] if 0 < n <= len(body) else body


def _answer_block(facts: list[_answers.Fact]) -> str:
    lines = [f.text for f in facts if f.text]
    return lines[0] if len(lines) == 1 else "\n".join(f"- {t}" for t in lines)


def _dated(ctx: AgentContext, ev: Evidence) -> str:
    """The day of the record a piece of evidence comes from (its artifact's date), or ""."""
    ident = (ev.meta or {}).get("artifact_id") or (ev.ref.split(":", 1)[1] if ev.ref.startswith("artifact:") else "")
    row = ctx.records.artifact(ident) if ident else None
    return str((row or {}).get("date") or "")[:10]


def _once(read: Callable[[], Any]) -> Callable[[], Any]:
    """``read``, called at most once (its answer, or its ConnectorError, kept): the calendar is asked once a run,
    and only if a reply proposes times."""
    kept: list[Any] = []

    def call() -> Any:
        if not kept:
            try:
                kept.append(read())
            except ConnectorError as exc:
                kept.append(exc)
        if isinstance(kept[0], ConnectorError):
            raise kept[0]
        return kept[0]

    return call


class DraftReply(Agent):
    """Draft the replies worth approving; quarantine flagged mail; ask the operator when unsure; file the rest."""

    name = "triage.draft_reply"
    version = "2"
    inputs = {"emails": list, "labels": dict, "clients": dict, "evidence": dict}
    outputs = {"replies": list}
    uses_models = True

    def run(self, ctx: AgentContext, *, emails: list[dict[str, Any]], labels: dict[str, Any], clients: dict[str, Any],
            evidence: dict[str, Any], now: str = "") -> AgentResult:
        me = owner(ctx.config)
        wt = _slots.working_time(ctx.config)
        today = as_of(ctx.records)
        moment = _slots.run_now(now, today, wt)
        requests, items, filed = [], [], []
        pointers = _pointers(ctx, [e for e in emails if labels[e["id"]]["action"] == "reply"])
        busy = _once(lambda: ctx.busy(moment, moment + timedelta(days=_slots.HORIZON_DAYS + 2)))
        for e in emails:
            lab, who = labels[e["id"]], clients[e["id"]]
            row = email_row(ctx.records, e["id"])
            inbound = row["meta"].get("inbound") or {}
            reasons = flag_reasons(inbound, per_flag=2)
            own = Evidence(e["ref"], snippet(row["body"], e["subject"]), f"e-mail from {e['from']} {e['date'][:10]}",
                           untrusted=True, flags=tuple(e["flags"]),
                           why="; ".join(reasons) if reasons else "the message being answered (outside content)")
            related = [ev for ev in evidence.get(e["id"], []) if ev.get("ref") != e["ref"]]
            base = {"email_id": e["id"], "to": e["from"], "subject": e["subject"], "in_reply_to": e.get("message_id"),
                    "thread_id": e.get("thread_id"), "label": lab["label"], "client_id": who["client_id"],
                    "client_name": who["client_name"], "contact_name": who["contact_name"],
                    "evidence": [own.to_json(), *related[:3]], "confidence": lab["confidence"], "needs_reply": False,
                    "flagged": False, "ask": False, "hold": False, "flags": [], "why": lab["reason"]}
            action = lab["action"]
            if action == "quarantine":
                items.append({**base, "flagged": True, "flags": e["flags"], "reasons": reasons,
                              "reason": lab["reason"] + (f" ({reasons[0]})" if reasons else "")})
                continue
            if action == "ask":
                q = inbound.get("asks") or {}
                items.append({**base, "ask": True, "evidence": [own.to_json()],
                              "question": f"Does “{e['subject']}” from {e['from']} need a reply? ({lab['reason']})",
                              "asks": {"questions": len(q.get("questions") or []), "addressed": q.get("addressed", 0),
                                       "confidence": q.get("confidence")}})
                continue
            if action != "reply":
                filed.append({"email_id": e["id"], "label": lab["label"], "reason": lab["reason"]})
                continue
            item, req = self._draft(ctx, e, row, inbound, lab, who, base, own, related, pointers.get(e["id"], []), me,
                                    wt, moment, today, busy)
            requests.append(req)
            items.append(item)
        gens = ctx.generate(requests) if requests else []
        it = iter(gens)
        for item in items:
            if item["needs_reply"]:
                g = next(it)
                body = re.sub(r"\n{3,}", "\n\n", g.text)  # an empty {answer} or {holding} leaves no gap
                item.update(subject=g.subject or f"Re: {item['subject']}", body=body, drafted_by=g.tier,
                            fallback_reason=g.fallback_reason)
                if item.get("parts"):
                    item["parts"] = {**item["parts"], "summary": g.raw}
                item["confidence"] = round(item["confidence"] * (1.0 if g.from_model else 0.95), 3)
        tiers = sorted({i.get("drafted_by") for i in items if i.get("drafted_by")})
        n = {k: sum(bool(i.get(k)) for i in items) for k in ("needs_reply", "flagged", "ask")}
        return AgentResult({"replies": items, "filed": filed, "now": moment.isoformat()},
                           confidence=min((i["confidence"] for i in items), default=1.0),
                           note=f"{n['needs_reply']} reply draft(s) ({', '.join(tiers) or 'none'}), {n['flagged']} flagged "
                                f"message(s) for review, {n['ask']} question(s) for you, {len(filed)} filed")

    def _draft(self, ctx: AgentContext, e: dict[str, Any], row: dict[str, Any], inbound: dict[str, Any], lab: dict[str, Any],
               who: dict[str, Any], base: dict[str, Any], own: Evidence, related: list[dict[str, Any]],
               lines: list[tuple[dict[str, Any], str]], me: str, wt: _slots.WorkingTime, moment: datetime,
               today: date, busy: Callable[[], list[tuple[datetime, datetime]] | None]) -> tuple[dict[str, Any], GenRequest]:
        names = set(_names(ctx.records, e)) | {who["first_name"], who["contact_name"]}
        questions = [str(q) for q in (inbound.get("asks") or {}).get("questions") or []]
        noted = _answers.note_facts(lines, names)
        # meeting times: the owner's notes first, then days the sender's scheduling questions name
        owner_hints = _slots.hints(" ".join(f.hints for f in noted), moment.date())
        scheduling = [i for i, q in enumerate(questions) if _SCHEDULING.search(q)]
        slots: list[datetime] = []
        calendar = False
        if scheduling or any(h.at for h in owner_hints):
            hinted = owner_hints or _slots.hints(" ".join(questions[i] for i in scheduling), moment.date())
            try:  # only times the calendar shows free; a calendar that cannot be read offers none
                taken = busy()
                calendar = taken is not None
                slots = _slots.propose(hinted, moment, wt, busy=taken)
            except ConnectorError:
                slots = []
        if slots:  # the times are offered as a list: the note's sentences about dates are not repeated (still cited)
            for f in noted:
                if f.text and _slots.hints(f.text, moment.date() - timedelta(days=366)):
                    f.text = ""
        answered = set(scheduling) if slots else set()
        said = " ".join(f.text for f in noted)
        answered |= {i for i, q in enumerate(questions) if noted and _answers.content_words(q) & _answers.content_words(said)}
        to, _ = billing_address(ctx.records, who["client_id"])
        invoices = _answers.invoice_facts(ctx.records, questions, client_id=who["client_id"], today=today, billing_to=to)
        answered |= {f.question for f in invoices if f.question is not None}
        quoted = {f.meta.get("total", "").replace(".00", "") for f in invoices}
        for f in noted:  # a note's sentence whose amount the records' figure already states is not said twice
            if f.text and any(a and a in f.text.replace(",", "") for a in quoted):
                f.text = ""
        asked: list[_answers.Fact] = []
        left = [i for i in range(len(questions)) if i not in answered]
        if who["client_id"] and left:  # an unknown sender's questions are not looked up: other clients' notes are not theirs
            found, _ = _answers.question_facts(
                ctx.recall, [questions[i] for i in left], client_id=who["client_id"], names=names,
                exclude={e["ref"]}, since=e["date"][:10], dated=lambda ev: _dated(ctx, ev))
            for f in found:
                f.question = left[f.question] if f.question is not None else None
                if all(f.text != g.text for g in noted):
                    asked.append(f)
            answered |= {f.question for f in asked}
        facts = [*invoices, *[f for f in noted if f.text], *sorted(asked, key=lambda f: f.question or 0)]
        open_questions = [i for i in range(len(questions)) if i not in answered]
        due = add_business_days(moment.date(), 2)
        due_text = f"{due:%A} {due.day} {due:%B}"
        holding = ""
        if open_questions and (facts or slots):
            holding = f"On the rest of your message I'll come back to you by {due_text}."
        bare = re.sub(r"^(?:(?:re|aw|sv|fwd?):\s*)+", "", e["subject"], flags=re.I)  # the template adds its own "Re:"
        variables: dict[str, Any] = {"subject": bare, "contact_first_name": who["first_name"], "owner": me,
                                     "due_date": due_text, "answer": _answer_block(facts), "holding": holding,
                                     "time_zone": wt.place, "proposed_times": "\n".join(f"- {_slots.fmt(s)}" for s in slots)}
        template = "reply_schedule" if slots else "reply_answer" if facts else "reply_ack"
        latest = _latest(row["body"], inbound)
        trusted = " ".join([bare, OPENING_WORDS, *(f.text for f in facts)])
        sensitive = any(ev.get("sensitive") for ev in related) or any(f.sensitive for f in facts)
        req = reply_request(e["subject"], latest, fallback=OPENING, template=template, variables=variables,
                            validate=_all_of(grounded(trusted), no_echo(latest, trusted), _not_about(first_name(me))),
                            sensitive=sensitive)
        fact_ev = [f.evidence("a fact the reply states") for f in facts]
        note_ev = [Evidence(f.ref, snippet(f.hints, " ".join(names)), f.source, None, False,
                            "the owner's note on this message") for f in noted if not f.text and f.hints]
        item = {**base, "needs_reply": True, "template": template, "facts": [f.text for f in facts],
                "slots": [s.isoformat() for s in slots], "open_questions": len(open_questions),
                # with a calendar to put it in, the operator picks the time to hold (``triage.hold``); the reply is
                # then written again around it from the same parts (the opening is added once it is generated)
                "hold": bool(slots) and calendar, "parts": variables if slots and calendar else {},
                "evidence": [own.to_json(), *(x.to_json() for x in fact_ev + note_ev), *related[:2]],
                "confidence": round(lab["confidence"] * (1.0 if facts or slots else 0.9), 3)}
        return item, req
