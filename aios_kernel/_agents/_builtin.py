"""The agents that ship with the workbench (registered on first lookup)."""

from __future__ import annotations

from ._protocol import Agent


def agents() -> list[Agent]:
    from ._content import ContentSources
    from ._core_agents import Executor, Retriever, Synthesizer
    from ._followup import DraftFollowup, ExtractNotes, SelectMeetings
    from ._holds import HoldTime, Reply
    from ._invoicing import Compute, Cover, Hours, MarkSent, Overdue, Render
    from ._triage import Classify, DraftReply, FindClient, InboxSelect

    return [Retriever(), Synthesizer(), Executor(), InboxSelect(), Classify(), FindClient(), DraftReply(),
            SelectMeetings(), ExtractNotes(), DraftFollowup(), Hours(), Compute(), Render(), Cover(), MarkSent(), Overdue(), ContentSources(),
            HoldTime(), Reply()]
