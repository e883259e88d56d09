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
        week = week or iso_week(as_of(ctx.store))
        start, end = week_range(week)
        rows = ctx.store.query("SELECT id, title, kind FROM artifacts WHERE kind IN ('meeting','note','document')"
                               " AND date >= ? AND date <= ? ORDER BY date", (str(start), str(end)))
        if not topic:
            idea = ctx.store.one("SELECT title FROM artifacts WHERE kind='note' AND (lower(title) LIKE '%post%' OR"
                                 " lower(title) LIKE '%content%' OR lower(title) LIKE '%idea%') AND date <= ?"
                                 " ORDER BY date DESC LIMIT 1", (str(end),))
            topic = (idea["title"].split(":", 1)[-1].strip() if idea else "") or "what I learned from client work this week"
        titles = "; ".join(r["title"] for r in rows)
        return AgentResult({"week": week, "topic": topic, "queries": [{"id": "post", "text": f"{topic}. {titles}"}],
                            "notes": [{"ref": f"artifact:{r['id']}", "title": r["title"]} for r in rows]},
                           note=f"{len(rows)} note(s) in {week}; topic: {topic}")
