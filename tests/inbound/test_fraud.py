"""Payment and credential fraud, whatever the wording, in four languages."""

from __future__ import annotations

from typing import Any

import pytest

from aios_kernel._inbound import canonicalise, fraud_signals

from .conftest import params


@pytest.mark.parametrize("case", params("attacks", lambda c: "fraud" in c))
def test_fixture_fraud_is_flagged(case: dict[str, Any]) -> None:
    reasons = fraud_signals(canonicalise(case["body"]), subject=case["subject"], sender=case["sender"])
    assert any(r.rule.startswith(case["fraud"]) and r.score >= 0.5 for r in reasons), [r.rule for r in reasons]
    assert all(r.layer == "fraud" for r in reasons)


@pytest.mark.parametrize("case", params("lookalikes"))
def test_look_alikes_carry_no_fraud(case: dict[str, Any]) -> None:
    assert fraud_signals(canonicalise(case["body"]), subject=case["subject"], sender=case["sender"]) == []


@pytest.mark.parametrize(("text", "rule"), [
    ("Please note that our bank details have changed.", "bank_details_change"),
    ("Kindly use our new IBAN for the next payment.", "bank_details_change"),
    ("Going forward, pay into our new account at Nordbank.", "new_account_for_payment"),
    ("Bitte beachten Sie unsere neue Bankverbindung.", "bank_details_change"),
    ("Unsere Kontodaten haben sich geändert.", "bank_details_change"),
    ("Veuillez noter nos nouvelles coordonnées bancaires.", "bank_details_change"),
    ("Merci d'utiliser notre nouveau RIB pour le virement.", "bank_details_change"),
    ("Tenemos una nueva cuenta bancaria para los pagos.", "bank_details_change"),
    ("Por favor, actualice nuestros datos bancarios.", "bank_details_change"),
    ("Please send us your bank details (IBAN, BIC) so we can update our records.", "bank_details_request"),
    ("We need the wire transfer done urgently, today.", "urgent_payment"),
    ("Überweisen Sie den Betrag bitte dringend.", "urgent_payment"),
    ("Le virement doit être fait immédiatement.", "urgent_payment"),
    ("Necesitamos el pago hoy mismo.", "urgent_payment"),
    ("Can you buy three Apple gift cards for a client?", "gift_cards"),
    ("Please confirm your password to keep your mailbox active.", "credentials_request"),
    ("Bitte bestätigen Sie Ihr Passwort.", "credentials_request"),
    ("Merci de confirmer votre mot de passe.", "credentials_request"),
    ("Por favor, envía tu contraseña.", "credentials_request"),
], ids=lambda v: v[:28])
def test_fraud_in_every_wording(text: str, rule: str) -> None:
    reasons = fraud_signals(canonicalise(text), sender="someone@client.example")
    assert any(r.rule.startswith(rule) for r in reasons), [r.rule for r in reasons]


def test_documents_to_a_new_address_and_reply_to_on_another_domain() -> None:
    c = canonicalise("Please re-send all open invoices to our billing team at billing-update@fastpay-secure.net.")
    reasons = fraud_signals(c, sender="accounts@nordlys-no.com", reply_to="billing-update@fastpay-secure.net")
    rules = [r.rule.split(":")[0] for r in reasons]
    assert "documents_to_new_address" in rules and "reply_to_mismatch" in rules


def test_an_unknown_sender_raises_the_score() -> None:
    c = canonicalise("Please note that our bank details have changed.")
    known = fraud_signals(c, sender="a@client.example")[0].score
    unknown = fraud_signals(c, sender="a@client.example", known_sender=False)[0].score
    assert unknown > known >= 0.5


@pytest.mark.parametrize("text", [
    "Please send the invoice today.",
    "Bank: Sparkasse Berlin, IBAN DE12 1005 0000 0123 4567 89",
    "Create a new account to get started.",
    "Your password was changed successfully.",
    "Please upload the bank statement for October.",
    "Same as last time: in EUR, to accounts@nordlys.no, with NRD-01 in the subject line.",
], ids=lambda v: v[:28])
def test_ordinary_money_talk_is_not_fraud(text: str) -> None:
    assert fraud_signals(canonicalise(text), sender="tone@nordlys.no") == []
