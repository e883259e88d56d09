"""The workflows the demo business runs every day, declared as data.

Read each one top to bottom: the steps of the main task, then the fan-out
(one child task per item, each with its own approval and effect). Actions
(``send_email``, ``issue_invoice`` ...) go through policy and the outbox;
``[policies.actions]`` in aios.toml says which run on their own.
"""

from __future__ import annotations

from ._workflow import ForEach, Param, Step, Workflow

MONTH = r"\d{4}-(0[1-9]|1[0-2])"
DATE = r"\d{4}-\d{2}-\d{2}"
WEEK = r"\d{4}-W\d{2}"

INBOX_TRIAGE = Workflow(
    "inbox_triage", "Triage the inbox: file automated and settled mail, quarantine flagged mail, draft the replies "
                    "that are needed, ask when unsure",
    intents=("triage the inbox", "answer emails", "reply to mail", "check my inbox", "emails waiting", "inbox", "emails",
             "mail", "triage", "replies"),
    params={
        "since": Param(str, "", "YYYY-MM-DD (only messages from then on)", pattern=DATE),
        "limit": Param(int, 50, "most messages handled per run", min=1, max=500),
        "now": Param(str, "", "YYYY-MM-DD or YYYY-MM-DDTHH:MM taken as now for proposed times (default: the newest "
                              "record's date, end of the working day)", pattern=DATE + r"(?:[T ]\d{2}:\d{2}(?::\d{2})?)?"),
    },
    steps=[
        # the new mail first (IMAP, or the workspace's Maildir): the triage reads what the sync brought in
        Step("sync", agent="service:mail.sync", inputs={"connector": "email"}),
        Step("inbox", agent="inbox.select", inputs={"since": "$params.since", "limit": "$params.limit"}),
        Step("classify", agent="triage.classify", inputs={"emails": "$inbox.emails"}),
        Step("clients", agent="triage.find_client", inputs={"emails": "$inbox.emails"}),
        Step("context", agent="retriever",
             inputs={"items": "$inbox.emails", "query": "subject", "scope": "client_id", "k": 3}),
        Step("drafts", agent="triage.draft_reply",
             inputs={"emails": "$inbox.emails", "labels": "$classify.labels", "clients": "$clients.clients",
                     "evidence": "$context.evidence", "now": "$params.now"}),
    ],
    foreach=ForEach("reply", items="$drafts.replies", key="email_id", steps=[
        # a reply proposing times: the operator picks the one to hold; it is held first, then promised (a saga:
        # a reply that cannot go out releases the time), the reply sent under the same approval
        Step("hold", agent="triage.hold", action="create_event", connector="calendar", compensate="cancel_event",
             when="$item.hold", approval="options", inputs={"item": "$item"}),
        Step("send", agent="triage.reply", action="send_email", connector="email", when="$item.needs_reply",
             covered_by="hold", inputs={"item": "$item", "hold": "$hold"}),
        Step("quarantine", agent="executor", action="quarantine_email", when="$item.flagged", approval="review",
             inputs={"item": "$item", "kind": "quarantine"}),
        Step("ask", agent="executor", action="triage_decision", when="$item.ask", approval="options",
             inputs={"item": "$item", "kind": "triage_question"}),
    ]),
    version=2,
)

MEETING_FOLLOWUP = Workflow(
    "meeting_followup", "Follow up recent meetings: summary, action items, an e-mail to the attendees",
    intents=("follow up meetings", "meeting follow-up", "send meeting summaries", "action items from meetings", "meetings",
             "meeting", "follow up", "follow-up", "action items"),
    params={
        "days": Param(int, 7, "look back this many days", min=1, max=365),
        "limit": Param(int, 5, "most meetings per run", min=1, max=50),
        "meeting": Param(str, "", "one meeting (artifact id or part of its title)"),
        "as_of": Param(str, "", "YYYY-MM-DD taken as today (default: the newest record's date)", pattern=DATE),
    },
    steps=[
        Step("meetings", agent="followup.select",
             inputs={"days": "$params.days", "limit": "$params.limit", "meeting": "$params.meeting", "as_of": "$params.as_of"}),
        Step("notes", agent="followup.extract", inputs={"meetings": "$meetings.meetings"}),
        Step("drafts", agent="followup.draft", inputs={"meetings": "$meetings.meetings", "notes": "$notes.notes"}),
    ],
    foreach=ForEach("followup", items="$drafts.emails", key="meeting_id", steps=[
        Step("send", agent="executor", action="send_email", connector="email", inputs={"item": "$item", "kind": "email"}),
    ]),
)

INVOICING = Workflow(
    "invoicing", "Invoices from the month's timesheets × the rate card (always reviewed)",
    intents=("prepare invoices", "invoice clients", "bill the hours", "send invoices", "invoicing", "invoice", "invoices",
             "billing", "bill"),
    params={
        "month": Param(str, "", "YYYY-MM (default: the last month that is over)", pattern=MONTH),
        "client": Param(str, "", "only this client (name, id or project code)"),
    },
    steps=[
        Step("hours", agent="invoicing.hours", inputs={"month": "$params.month", "client": "$params.client"}),
        Step("compute", agent="invoicing.compute", inputs={"month": "$hours.month", "projects": "$hours.projects"}),
        Step("render", agent="invoicing.render", inputs={"invoices": "$compute.invoices"}),
    ],
    foreach=ForEach("invoice", items="$render.invoices", key="ref", steps=[
        Step("issue", agent="executor", action="issue_invoice", connector="invoices", compensate="void_invoice",
             inputs={"item": "$item", "kind": "invoice"}),
        Step("send", agent="invoicing.cover", action="send_email", connector="email", covered_by="issue",
             inputs={"item": "$item", "issued": "$issue"}),
        Step("sent", agent="invoicing.sent", action="mark_invoice_sent", connector="invoices", covered_by="issue",
             inputs={"issued": "$issue", "mail": "$send"}),
    ]),
)

INVOICE_REMINDERS = Workflow(
    "invoice_reminders", "Reminders for invoices past their due date and unpaid (each e-mail reviewed)",
    intents=("payment reminders", "remind clients to pay", "chase payments", "dunning"),
    params={"as_of": Param(str, "", "YYYY-MM-DD taken as today (default: the newest record's date)", pattern=DATE)},
    steps=[Step("overdue", agent="invoicing.overdue", inputs={"as_of": "$params.as_of"})],
    foreach=ForEach("reminder", items="$overdue.reminders", key="number", steps=[
        Step("send", agent="executor", action="send_email", connector="email", inputs={"item": "$item", "kind": "email"}),
    ]),
)

WEEKLY_CONTENT = Workflow(
    "weekly_content", "Draft the weekly post from the week's notes (publishing is always reviewed)",
    intents=("weekly content", "write a post", "draft the weekly post", "linkedin post", "newsletter", "post", "content",
             "blog"),
    params={
        "week": Param(str, "", "ISO week YYYY-Www (default: the current one)", pattern=WEEK),
        "topic": Param(str, "", "the post's topic (default: from the latest idea note)"),
    },
    steps=[
        Step("sources", agent="content.sources", inputs={"week": "$params.week", "topic": "$params.topic"}),
        Step("evidence", agent="retriever", inputs={"items": "$sources.queries", "query": "text", "k": 5}),
        Step("draft", agent="synthesizer",
             inputs={"instruction": "Write three short lessons, one line each, each starting with '- '.",
                     "evidence": "$evidence.evidence", "template": "weekly_content",
                     "variables": {"topic": "$sources.topic"}, "id": "post"}),
        Step("publish", agent="executor", action="publish_post", connector="site", compensate="unpublish_post",
             inputs={"item": "$draft", "kind": "post"}),
    ],
)

WORKFLOWS = [INBOX_TRIAGE, MEETING_FOLLOWUP, INVOICING, INVOICE_REMINDERS, WEEKLY_CONTENT]
