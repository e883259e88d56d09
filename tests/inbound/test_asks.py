"""Does a message wait for an answer, and does it settle its thread?"""

from __future__ import annotations

import pytest

from aios_kernel._inbound import asks, canonicalise


@pytest.mark.parametrize(("text", "question"), [
    ("Hi Maja,\n\ncould you send the October invoice?\n\nThanks, Tone", "could you send the October invoice?"),
    ("Would you have time for a call next week?", "Would you have time for a call next week?"),
    ("Please let me know which date works.", "Please let me know which date works."),
    ("Does that change the price or the plan?", "Does that change the price or the plan?"),
    ("Hätten Sie am Donnerstag Zeit?", "Hätten Sie am Donnerstag Zeit?"),
    ("Pourriez-vous nous envoyer le devis ?", "Pourriez-vous nous envoyer le devis ?"),
    ("¿Podrías enviarnos la propuesta?", "¿Podrías enviarnos la propuesta?"),
], ids=["could-you", "would-you", "let-me-know", "bare-question", "german", "french", "spanish"])
def test_questions_and_requests_expect_a_reply(text: str, question: str) -> None:
    a = asks(canonicalise(text))
    assert a.expects_reply and a.confidence >= 0.5
    assert question in a.questions


@pytest.mark.parametrize("text", [
    "Perfect — Wednesday 18th at 9:30 it is.\n\nPriya has picked three people for the interviews.\n\nLooking forward to it.",
    "Thursday 26 November, 14:00 it is. Room Elbe again.",
    "Sounds good, see you then.",
    "Thanks, received.",
    "Tuesday 24 November for the proposal is perfect.",
], ids=["it-is-wednesday", "it-is-thursday", "sounds-good", "received", "is-perfect"])
def test_confirmations_settle_the_thread(text: str) -> None:
    a = asks(canonicalise(text))
    assert a.settles and not a.expects_reply


def test_a_confirmation_with_a_new_request_settles_and_asks() -> None:
    a = asks(canonicalise("Thursday 26 November, 14:00 it is. Could you bring the blueprint as a print-out as well?"))
    assert a.settles and a.expects_reply
    assert a.questions == ("Could you bring the blueprint as a print-out as well?",)


def test_only_the_newest_message_counts() -> None:
    a = asks(canonicalise("Thanks, received.\n\nOn Mon, 9 Nov 2026, Maja wrote:\n> Could you confirm the dates?"))
    assert not a.expects_reply and a.settles


@pytest.mark.parametrize("text", [
    "Does it work, or does it just move refunds to next month? Read the teardown.\nUnsubscribe: https://x.example/u",
    "Your order has shipped. Questions? Visit the help centre. This is an automated message, please do not reply.",
    "Here are my notes from the driver tests. Five of six understood the new state.",
], ids=["newsletter-teaser", "no-reply-notice", "plain-update"])
def test_updates_and_bulk_mail_do_not_expect_a_reply(text: str) -> None:
    assert not asks(canonicalise(text)).expects_reply


@pytest.mark.parametrize(("text", "addressed"), [
    ("Could you send the October invoice? And would you add the PO number?", 2),
    ("Maybe a small upload arrow instead? Or would that bring back the old habits?", 0),
    ("Does that change the price or the plan? Please let me know.", 1),
], ids=["two-requests", "questions-in-the-air", "one-of-two"])
def test_addressed_counts_the_questions_put_to_the_reader(text: str, addressed: int) -> None:
    a = asks(canonicalise(text))
    assert a.expects_reply and a.addressed == addressed
