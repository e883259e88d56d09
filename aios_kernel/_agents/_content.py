"""The weekly content draft: what happened this week becomes a short post (always reviewed before publishing)."""

from __future__ import annotations

from datetime import date, timedelta

from ._business import as_of
from ._protocol import Agent, AgentContext, AgentResult


def iso_week(day: date) -> str:
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


def week_range(week: str) -> tuple[date, date]:
    year, w = week.split("-W")
    start = date.fromisocalendar(int(year), int(w), 1)
    return start, start + timedelta(days=6)


class ContentSources(Agent):
    """The week's notes and meetings, and the topic of the post."""

    name = "content.sources"
    version = "1"
    inputs = {"week": str, "topic": str}
    outputs = {"week": str, "topic": str, "queries": list}

    def run(self, ctx: AgentContext, *, week: str, topic: str) -> AgentResult:
        week = week or iso_week(as_of(ctx.records))
        start, end = week_range(week)
        rows = ctx.records.artifacts(kinds=("meeting", "note", "document"), since=str(start), until=str(end))
        if not topic:
            ideas = [a for word in ("post", "content", "idea")
                     for a in ctx.records.artifacts(kinds=("note",), until=str(end), title_like=word)]
            idea = max(ideas, key=lambda a: (a["date"] or "", a["id"]), default=None)
            topic = (idea["title"].split(":", 1)[-1].strip() if idea else "") or "what I learned from client work this week"
        titles = "; ".join(r["title"] for r in rows)
        return AgentResult({"week": week, "topic": topic, "queries": [{"id": "post", "text": f"{topic}. {titles}"}],
                            "notes": [{"ref": f"artifact:{r['id']}", "title": r["title"]} for r in rows]},
                           note=f"{len(rows)} note(s) in {week}; topic: {topic}")
