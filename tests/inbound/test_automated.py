"""Automated mail from headers, sender and content; the facts worth keeping from it."""

from __future__ import annotations

import pytest

from aios_kernel._inbound import automated, canonicalise, facts

PERSON = canonicalise("Hi Maja,\n\ncould we move Thursday's call to Friday?\n\nBest,\nFelix")


@pytest.mark.parametrize(("headers", "sender", "kind"), [
    ({"Auto-Submitted": "auto-generated"}, "alerts@bank.example", "notification"),
    ({"Auto-Submitted": "auto-replied"}, "anna@client.example", "notification"),
    ({"List-Unsubscribe": "<https://x.example/u>"}, "hello@news.example", "newsletter"),
    ({"List-Id": "<designers.lists.example>"}, "someone@lists.example", "newsletter"),
    ({"Precedence": "bulk"}, "team@shop.example", "newsletter"),
    ({"Precedence": "junk"}, "x@y.example", "notification"),
    ({"Return-Path": "<>"}, "mailer@host.example", "notification"),
    ({"X-Auto-Response-Suppress": "All"}, "robot@corp.example", "notification"),
    ({}, "noreply@shop.example", "notification"),
    ({}, "no-reply@accounts.example", "notification"),
    ({}, "donotreply@upwork.example", "notification"),
    ({}, "do-not-reply+tag@x.example", "notification"),
], ids=["auto-generated", "auto-replied", "list-unsubscribe", "list-id", "precedence-bulk", "precedence-junk",
        "empty-return-path", "x-auto-response-suppress", "noreply", "no-reply", "donotreply", "do-not-reply-tag"])
def test_headers_and_senders(headers: dict[str, str], sender: str, kind: str) -> None:
    a = automated(headers, sender, PERSON)
    assert a is not None and a.kind == kind and a.confidence >= 0.55
    assert a.reasons


@pytest.mark.parametrize("headers", [{}, {"Auto-Submitted": "no"}, {"Precedence": "first-class"}, {"Return-Path": "<felix@x.de>"}],
                         ids=["none", "auto-submitted-no", "precedence-other", "return-path"])
def test_a_person_writing_is_not_automated(headers: dict[str, str]) -> None:
    assert automated(headers, "felix.brandt@brightwater-logistics.de", PERSON) is None


@pytest.mark.parametrize(("subject", "body", "kind"), [
    ("Your card was charged $84.00", "Hi Sam, your debit card ending 4821 was charged $84.00 by Nimbus Hosting. "
     "The amount will be taken from your business checking account.", "notification"),
    ("Transfer sent", "You sent a SEPA transfer of €1,200.00 from your business account. This is an automated message, "
     "please do not reply.", "notification"),
    ("Your receipt from Printwell", "Thank you for your payment. Receipt #2231. Total paid: €45.00. Invoice number: P-2231.",
     "receipt"),
    ("Booking confirmation", "You're all booked! Booking reference: QH7T2K. Your e-tickets are attached.", "notification"),
    ("Design Weekly #88", "This week: grids. Read more on our blog. You're receiving this because you subscribed. "
     "Unsubscribe here.", "newsletter"),
], ids=["card-alert", "transfer", "receipt", "booking", "newsletter"])
def test_content_alone_recognises_machine_mail(subject: str, body: str, kind: str) -> None:
    a = automated({"Subject": subject}, "", canonicalise(body))
    assert a is not None and a.kind == kind


@pytest.mark.parametrize("body", [
    "Hi Maja, please find the receipt for the train tickets attached. Best, Petra",
    "Could you unsubscribe me from the project updates? Thanks, Lena",
    "We paid the September invoice on 9 October, just so you have it for your records.",
], ids=["mentions-receipt", "mentions-unsubscribe", "mentions-payment"])
def test_one_word_of_machine_vocabulary_is_not_enough(body: str) -> None:
    assert automated({}, "petra.voss@voss-steuer.de", canonicalise(body)) is None


def test_facts_of_a_card_notification() -> None:
    c = canonicalise("Your card has been charged $2,099.00 by ACME ANALYTICS, INC.. The final amount may differ.")
    got = facts(c, "notification")
    assert got[0] == {"type": "amount", "amount": "2099.00", "currency": "USD", "text": "$2,099.00", "role": "charged"}
    assert {"type": "merchant", "name": "ACME ANALYTICS, INC"}.items() <= got[1].items()


@pytest.mark.parametrize(("text", "amount", "currency"), [
    ("Total: 3.400,00 € inkl. MwSt.", "3400.00", "EUR"),
    ("Amount due 1 234,50 EUR", "1234.50", "EUR"),
    ("You received £18.50", "18.50", "GBP"),
    ("Charged USD 45", "45", "USD"),
    ("Paid: US$2 500.00", "2500.00", "USD"),
], ids=["german", "spaced", "pound", "code-first", "us-dollar"])
def test_amounts_in_every_writing(text: str, amount: str, currency: str) -> None:
    got = facts(canonicalise(text), "receipt")
    assert (got[0]["amount"], got[0]["currency"]) == (amount, currency)


def test_facts_of_a_booking() -> None:
    got = facts(canonicalise("Booking reference: QH7T2K\nParis to London, Sun 3 April 2022, 18:03"), "notification")
    assert {"type": "reference", "value": "QH7T2K", "text": "Booking reference: QH7T2K"} in got
    assert {"type": "date", "text": "Sun 3 April 2022", "date": "2022-04-03"} in got


def test_facts_of_a_receipt_fall_back_to_the_sender_name() -> None:
    got = facts(canonicalise("This is your receipt. $45.00 Paid."), "receipt", sender="Printwell <billing@printwell.example>")
    assert {"type": "merchant", "name": "Printwell", "text": "Printwell <billing@printwell.example>", "source": "sender"} in got


def test_facts_of_a_newsletter() -> None:
    c = canonicalise('<p>Issue 112</p><a href="https://x.example/unsubscribe?u=1">Unsubscribe</a>', content_type="text/html")
    assert facts(c, "newsletter", subject="The Friday Layout #112") == [
        {"type": "title", "value": "The Friday Layout #112"}, {"type": "unsubscribe", "href": "https://x.example/unsubscribe?u=1"}]
