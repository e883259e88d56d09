"""Condensation: facts with provenance, from the local model or the extractive fallback."""

from __future__ import annotations

import pytest

from aios_kernel import NotFoundError, ValidationError, Workbench
from aios_kernel._memory._condense import extractive, parse_facts

TURNS = [
    "Maja: The Brightwater kick-off is on 2 September in Hamburg.",
    "Felix: Budget is 120 hours at the strategy rate of 150 euros.",
    "Maja: I will visit the depots in Billbrook, Bremen and Hannover.",
    "Felix: Anja is your day-to-day contact.",
    "Maja: Great, I will send the statement of work by 4 September.",
]


def _seed(mem, sensitive: bool = False) -> list[str]:
    refs = mem.remember_many([{"text": t, "kind": "turn", "meta": {"thread_id": "kickoff"}, "client": "cl_bw",
                               "event_time": f"2026-09-0{1 + i // 3}", "sensitive": sensitive and i == 1}
                              for i, t in enumerate(TURNS)])
    return [r.id for r in refs]


def test_extractive_fallback_keeps_central_sentences_in_order() -> None:
    facts = extractive(TURNS, 3)
    assert len(facts) == 3 and all(f in TURNS for f in facts)
    assert [TURNS.index(f) for f in facts] == sorted(TURNS.index(f) for f in facts)
    assert extractive(TURNS, 3) == facts  # deterministic
    assert parse_facts("1. First fact here.\n- Second fact here\n\nok\nFirst fact here.", 5) == [
        "First fact here.", "Second fact here"]


def test_condense_without_a_model_stores_extractive_facts_with_provenance(tmp_path, minilm) -> None:
    root = tmp_path / "ws"
    Workbench.init(root).close()
    cfg = root / "aios.toml"
    cfg.write_text(cfg.read_text().replace('generator = "SmolLM2-135M-Instruct"', 'generator = "template"'))
    with Workbench.open(root) as wb:
        ids = _seed(wb.memory, sensitive=True)
        refs = wb.memory.condense(episode="kickoff", max_facts=3)
        assert len(refs) == 3
        for ref in refs:
            row = wb.memory.get(ref)
            assert (row["tier"], row["kind"], row["source"]) == ("working", "fact", "memory")
            assert row["derived_from"] == ids and row["client_id"] == "cl_bw"
            assert row["meta"]["method"] == "extractive" and row["text"] in TURNS
            assert row["sensitive"] is True  # a sensitive source makes the summary sensitive
            assert row["event_time"] == "2026-09-02T00:00:00.000000Z"
        assert wb.memory.condense(episode="kickoff", max_facts=3) == refs  # same records, same facts: no duplicates
        with pytest.raises(NotFoundError, match="nothing to condense"):
            wb.memory.condense(episode="no-such-thread")
        with pytest.raises(ValidationError, match="condense one thing"):
            wb.memory.condense(episode="kickoff", ids=ids)


@pytest.mark.slow
def test_condense_with_the_local_model(mwb) -> None:
    ids = _seed(mwb.memory)
    refs = mwb.memory.condense(episode="kickoff", max_facts=3)
    calls = [e for e in mwb.store.events(type="model.called") if e.payload.get("purpose") == "memory.condense"]
    assert calls and calls[0].payload["tier"] == "local"  # SmolLM2 was asked
    rows = [mwb.memory.get(r) for r in refs]
    assert 1 <= len(rows) <= 3
    assert all(r["derived_from"] == ids and r["kind"] == "fact" for r in rows)
    if calls[0].payload.get("fallback_reason"):
        assert all(r["meta"]["method"] == "extractive" for r in rows)
    else:
        assert all(r["meta"]["method"] == "model" and r["meta"]["model"] for r in rows)
