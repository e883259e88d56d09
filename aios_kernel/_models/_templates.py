"""Templates: the deterministic tier, and the frame model output is placed in.

Templates are the workspace's ``template`` artifacts (``data/templates/*.md``
ingested), found by name (the file's stem) through the lookup the workbench
gives :class:`Templates` (the records are a layer above). They use ``str.format``
placeholders; a placeholder the caller does not fill is an error that names
it, never a silently blank line in an e-mail. A first line ``Subject: ...``
becomes the subject.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

from .._errors import ValidationError

BUILTIN = {
    "reply_ack": "Subject: Re: {subject}\n\nHi {contact_first_name},\n\n{summary}\n\n"
                 "I'll come back to you with a full answer by {due_date}.\n\nBest regards,\n{owner}\n",
    "reply_answer": "Subject: Re: {subject}\n\nHi {contact_first_name},\n\n{summary}\n\n{answer}\n\n{holding}\n\nBest regards,\n"
                    "{owner}\n",
    "reply_schedule": "Subject: Re: {subject}\n\nHi {contact_first_name},\n\n{summary}\n\n{answer}\n\nAny of these would "
                      "work on my side ({time_zone}):\n\n{proposed_times}\n\n{holding}\n\nBest regards,\n{owner}\n",
    "reply_hold": "Subject: Re: {subject}\n\nHi {contact_first_name},\n\n{summary}\n\n{answer}\n\nI have reserved "
                  "{held_time} ({time_zone}) for us in my calendar. {alternatives}\n\n{holding}\n\nBest regards,\n{owner}\n",
    "reply_invoice": "Subject: Invoice {invoice_number} – {period}\n\nHi {contact_first_name},\n\nPlease find invoice "
                     "{invoice_number} for {period} attached.\n\nTotal: {total} {currency}\nDue date: {due_date}\n\n"
                     "Best regards,\n{owner}\n",
    "followup_meeting": "Subject: Summary: {subject}\n\nHi {contact_first_name},\n\n{summary}\n\n## Action items\n\n"
                        "{action_items}\n\nBest regards,\n{owner}\n",
    "invoice": "# INVOICE {invoice_number}\n\n**Bill to:** {client_name}\n**Attention:** {contact_name}\n**Period:** {period}\n"
               "**Due date:** {due_date}\n\n| Date / Activity | Hours | Rate | Amount |\n|---|---|---|---|\n{lines}\n\n"
               "Net: {net} {currency}\n{vat_label}: {vat} {currency}\n**Total: {total} {currency}**\n\n{tax_note}\n\n{owner}\n",
    "reminder_invoice": "Subject: Reminder: invoice {invoice_number} was due on {due_date}\n\nHi {contact_first_name},\n\n"
                        "invoice {invoice_number} for {period} ({total} {currency}) was due on {due_date}, {days_overdue} days "
                        "ago. I attach it again; please quote {invoice_number} as the payment reference.\n\n"
                        "Best regards,\n{owner}\n",
    "weekly_content": "# Weekly post — {topic}\n\n{points}\n\n— {owner}\n",
}
"""Used only when a workspace has no template of that name (an empty workspace)."""


class Templates:
    """Template bodies by name: the workspace's (``lookup(name)``), else a built-in one."""

    def __init__(self, lookup: Callable[[str], str | None] | None = None) -> None:
        self.lookup = lookup

    def get(self, name: str) -> str:
        body = self.lookup(name) if self.lookup is not None else None
        if body is not None:
            return body
        if name in BUILTIN:
            return BUILTIN[name]
        raise ValidationError(f"no template named {name!r}: add templates/{name}.md to the business folder and ingest it",
                              field="template")


def placeholders(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


def render(template: str, variables: dict[str, Any], *, name: str = "template") -> str:
    """Fill ``template``; a placeholder without a value is a ValidationError naming it."""
    missing = [p for p in placeholders(template) if p not in variables]
    if missing:
        raise ValidationError(f"template {name!r} uses {{{missing[0]}}}, which was not given "
                              f"(given: {', '.join(sorted(variables))})", field=missing[0])
    return template.format_map(variables)


def split_subject(text: str) -> tuple[str, str]:
    """(subject, body) from a rendered template whose first line may be ``Subject: ...``."""
    first, _, rest = text.partition("\n")
    if first.lower().startswith("subject:"):
        return first.split(":", 1)[1].strip(), rest.lstrip("\n")
    return "", text
