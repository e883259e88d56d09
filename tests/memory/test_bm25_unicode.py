"""The keyword index reads every script: Latin with accents, Cyrillic, Greek, Chinese and Japanese."""

from __future__ import annotations

import numpy as np
import pytest

from aios_kernel._memory._bm25 import BM25, tokenize


@pytest.mark.parametrize(("text", "tokens"), [
    ("Müller met Muller", ["muller", "met", "muller"]),
    ("Økodesign, Straße, Łódź", ["okodesign", "strasse", "lodz"]),
    ("Дом и Сад, Москва", ["дом", "и", "сад", "москва"]),
    ("Καλημέρα κόσμε", ["καλημερα", "κοσμε"]),
    ("北京咨询", ["北京", "京咨", "咨询"]),
    ("東京", ["東京"]),
    ("Planning the plans, Maja's planned it", ["plan", "plan", "maja", "plan"]),
], ids=["umlaut", "latin-letters", "cyrillic", "greek", "chinese", "japanese", "english-unchanged"])
def test_tokens_in_every_script(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def _ascii_tokenize(text: str) -> list[str]:
    """The keyword index's tokens before it read Unicode words: ``[a-z0-9]+`` words, stop words out, stemmed."""
    import re

    from aios_kernel._memory._bm25 import STOP_WORDS, stem

    words = re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text.lower().replace("\u2019", "'"))
    words = [w[:-2] if w.endswith("'s") else w for w in words]
    return [stem(w) for w in words if w and w not in STOP_WORDS]


@pytest.mark.parametrize("text", [
    "The invoices were planned, and she's invoicing 3 clients",
    "Caroline: I went to the LGBTQ support group yesterday and it was so powerful.",
    "What did Melanie paint recently? She’s been painting sunsets since 2022!",
], ids=["business", "locomo-style", "curly-apostrophe"])
def test_english_tokens_are_what_they_were(text: str) -> None:
    assert tokenize(text) == _ascii_tokenize(text)


def test_keyword_search_finds_documents_in_other_scripts() -> None:
    docs = ["Встреча с клиентом Дом и Сад в Москве", "北京咨询公司的项目会议", "Meeting with Müller about the invoice",
            "Lunch with the design team"]
    index = BM25()
    for slot, d in enumerate(docs):
        index.add(slot, tokenize(d))
    for query, want in (("Дом и Сад", 0), ("咨询公司", 1), ("Muller invoice", 2)):
        scores = index.scores(tokenize(query), len(docs))
        assert int(np.argmax(scores)) == want and scores[want] > 0
