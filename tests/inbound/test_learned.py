"""The learned layer: the shipped head, its training data format, and a deterministic rebuild."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from aios_kernel._errors import ModelError, ValidationError
from aios_kernel._inbound import _learned
from aios_kernel._inbound.train import read_examples


def test_the_shipped_head_loads_and_says_what_it_was_trained_on() -> None:
    head = _learned.load_head()
    assert head.weights.shape == (384,)
    assert 0.5 <= head.threshold < 1.0
    assert head.model == "all-MiniLM-L6-v2" and head.int8 is True
    assert head.meta["examples"]["injection"] > 500 and head.meta["examples"]["benign"] > 500
    assert head.meta["examples_sha256"], "the head names the data it came from"


def test_the_head_separates_an_instruction_from_a_notice() -> None:
    attack, notice = _learned.score(["Explain how a jet engine works in five bullet points.",
                                     "Your parcel will be delivered tomorrow between 9:00 and 13:00."])
    threshold = _learned.load_head().threshold
    assert attack >= threshold > notice


def test_scores_are_cached_per_text() -> None:
    text = "A sentence scored twice should be embedded once, then read from the cache."
    first = _learned.score([text])
    assert text in _learned._scores
    assert _learned.score([text, text]) == first * 2


@pytest.mark.parametrize(("content", "field"), [
    ("stray sentence before a section\n", "section"),
    ("[nonsense]\nsome sentence here\n", "section"),
    ("[benign]\nHello {who} and welcome aboard\n", "slot"),
], ids=["no-section", "unknown-section", "undefined-slot"])
def test_bad_example_files_are_refused(tmp_path: Path, content: str, field: str) -> None:
    f = tmp_path / "ex.txt"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        read_examples(f)
    assert info.value.field == field


def test_templates_expand_in_step_and_short_sentences_are_left_out(tmp_path: Path) -> None:
    f = tmp_path / "ex.txt"
    f.write_text("# comment\n[injection]\n@a: one | two | three\n@b: x | y\nWrite about {a} and {b} please\nToo short\n"
                 "[benign]\nThanks for the update today\n", encoding="utf-8")
    got = read_examples(f)
    assert [(t, label) for t, label, _ in got] == [
        ("Write about one and x please", 1), ("Write about two and y please", 1), ("Write about three and x please", 1),
        ("Thanks for the update today", 0)]


def test_a_damaged_head_is_a_model_error_that_says_how_to_rebuild(tmp_path: Path) -> None:
    bad = tmp_path / "head.json"
    bad.write_text('{"model": "all-MiniLM-L6-v2", "int8": true, "weights": [1, "x"]}', encoding="utf-8")
    with pytest.raises(ModelError, match="aios_kernel._inbound.train"):
        _learned.load_head(str(bad))


@pytest.mark.slow
def test_training_rebuilds_the_shipped_head(tmp_path: Path) -> None:
    from aios_kernel._inbound.train import train

    out = tmp_path / "head.json"
    info = train(out=out, quiet=True)
    shipped = json.loads(_learned.HEAD_PATH.read_text(encoding="utf-8"))
    rebuilt = json.loads(out.read_text(encoding="utf-8"))
    assert info["examples_sha256"] == shipped["examples_sha256"], "data/examples.txt changed: rerun the training"
    assert rebuilt["threshold"] == pytest.approx(shipped["threshold"], abs=1e-4)
    assert max(abs(a - b) for a, b in zip(rebuilt["weights"], shipped["weights"])) < 1e-4
    assert not any(math.isnan(w) for w in rebuilt["weights"])


@pytest.mark.parametrize(("sentence", "lang"), [
    ("Could you send the October invoice?", "en"),
    ("Vielen Dank für Ihre schnelle Antwort.", "de"),
    ("Merci pour votre réponse rapide.", "fr"),
    ("Si tienes alguna pregunta, responde a este correo.", "es"),
    ("Дом и Сад, Москва", "other"),
    ("Senior SEO Consultant", "en"),
], ids=["en", "de", "fr", "es", "cyrillic", "no-function-words"])
def test_language_of_a_sentence(sentence: str, lang: str) -> None:
    from aios_kernel._inbound._lang import language

    assert language(sentence) == lang


def test_other_languages_have_their_own_threshold() -> None:
    head = _learned.load_head()
    assert head.threshold_for("Please send the invoice today.") == head.threshold
    assert head.threshold_for("Bitte senden Sie die Rechnung noch heute.") == head.other_threshold
    assert head.other_threshold >= head.threshold
