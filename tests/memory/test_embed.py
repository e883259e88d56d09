"""Embeddings: batching, the pending state and retries, never twice, model migration."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest

from aios_kernel import Workbench
from aios_kernel._memory import MemoryWarning
from aios_kernel._memory._embed import DaskEmbedder, EmbedSettings
from aios_kernel._models._embedding import INT8_SUFFIX


class FaultyEmbedder(DaskEmbedder):
    """The real embedder, except that its next ``fail_calls`` calls lose every batch (a crashed worker)."""

    def __init__(self, fail_calls: int) -> None:
        super().__init__(EmbedSettings(int8=True))
        self.fail_calls = fail_calls
        self.embedded: list[str] = []

    def _local(self, texts: Sequence[str], batches: list[list[int]]) -> Iterator[tuple[list[int], Any]]:
        if self.fail_calls > 0:
            self.fail_calls -= 1
            for b in batches:
                yield b, RuntimeError("worker lost")
            return
        self.embedded.extend(texts)
        yield from super()._local(texts, batches)


def test_vectors_match_sentence_transformers(minilm: Any) -> None:
    from sentence_transformers import SentenceTransformer

    texts = ["short", "a somewhat longer sentence about invoices and the VAT return", "Köhler visits Bremen"] * 3
    ours = np.zeros((len(texts), 384), np.float32)
    DaskEmbedder(EmbedSettings(batch_size=2, int8=False)).embed(texts, lambda pos, vecs: ours.__setitem__(pos, vecs))
    theirs = SentenceTransformer(str(minilm.folder), device="cpu").encode(texts)
    assert np.abs(ours - theirs).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("int8", [False, True])
def test_a_query_vector_is_the_models_vector_for_that_text(minilm: Any, int8: bool) -> None:
    """The traced single-query path gives the eager model's vector, at every length up to truncation."""
    from aios_kernel._models._embedding import load_embedder, torch_threads

    emb = load_embedder(int8=int8)
    words = "the invoice for the May workshop was sent to Köhler in Bremen on Tuesday".split()
    texts = ["a", "ok?", " ".join(words), " ".join(words * 6), " ".join(words * 40)]  # the last is cut at max_length
    for text in texts:
        with torch_threads(1):
            want = emb.encode_batch([text])[0]
        got = emb.encode_query(text)
        assert got.shape == (emb.dim,) and got.dtype == np.float32
        assert np.abs(got - want).max() < 1e-5, text[:40]
    assert emb._traced, "the query path fell back to the eager model"


def test_length_buckets_group_similar_lengths() -> None:
    from aios_kernel._models._embedding import length_batches

    lengths = [5, 500, 6, 480, 7, 490]
    batches = length_batches(lengths, 3)
    assert [sorted(lengths[i] for i in b) for b in batches] == [[5, 6, 7], [480, 490, 500]]
    assert sorted(i for b in batches for i in b) == list(range(6))


def test_long_passages_go_fewer_to_a_batch_so_the_peak_stays_flat() -> None:
    from aios_kernel._models._embedding import TRUNCATED_CHARS, length_batches

    lengths = [40] * 100 + [1_200] * 30 + [90_000] * 5  # notes, e-mails, documents cut at the model's window
    batches = length_batches(lengths, 64, max_chars=12_000)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        padded = len(b) * min(max(lengths[i] for i in b), TRUNCATED_CHARS)
        assert len(b) <= 64 and (padded <= 12_000 or len(b) == 1), (len(b), padded)
    assert max(len(b) for b in batches) == 64 and len(batches) == 2 + 3 + 1  # 100 short ones: 64 + 36; 30: 10 a batch


def test_the_configured_batch_bound_defaults_to_memorys_own(tmp_path) -> None:
    from aios_kernel._memory._embed import INGEST_BATCH_CHARS

    # the one number that bounds an ingest's peak memory: the workspace default and memory's own agree
    wb = Workbench.init(tmp_path / "ws")
    assert EmbedSettings.from_config(wb.config).batch_chars == INGEST_BATCH_CHARS == EmbedSettings().batch_chars
    wb.close()


def test_failed_embedding_is_pending_found_by_keyword_and_retried(tmp_path, minilm) -> None:
    from aios_kernel._memory import Memory

    wb = Workbench.init(tmp_path / "ws")
    faulty = FaultyEmbedder(fail_calls=1)
    mem = Memory(wb.store, wb.paths, wb.config, embedder=faulty)
    with pytest.warns(MemoryWarning, match="could not be embedded"):
        refs = mem.remember_many(["The depot in Bremen opens at six.", "Invoices go out on the first Monday."])
    assert mem.pending() == 2
    assert mem.store.scalar("SELECT attempts FROM memory_embed_failures LIMIT 1") == 1
    hits = mem.recall("Bremen depot", k=2)
    assert hits[0].id == refs[0].id and hits[0].why["layers"] == ["bm25"]
    assert mem.embed_pending() == 2
    assert mem.pending() == 0 and mem.store.scalar("SELECT count(*) FROM memory_embed_failures") == 0
    hits = mem.recall("Bremen depot", k=2)
    assert "dense" in hits[0].why["layers"]
    mem.close()
    wb.close()


def test_the_next_ingest_retries_what_failed(tmp_path, minilm) -> None:
    from aios_kernel._memory import Memory

    wb = Workbench.init(tmp_path / "ws")
    mem = Memory(wb.store, wb.paths, wb.config, embedder=FaultyEmbedder(fail_calls=1))
    with pytest.warns(MemoryWarning):
        lost = mem.remember("The Hannover depot closes at eight.")
    assert mem.pending() == 1
    mem.remember("An unrelated note about office plants.")  # the embedder works again
    assert mem.pending() == 0 and mem.store.scalar("SELECT count(*) FROM memory_embed_failures") == 0
    assert "dense" in mem.recall("Hannover depot closing time", k=1)[0].why["layers"]
    assert mem.recall("Hannover depot closing time", k=1)[0].id == lost.id
    mem.close()
    wb.close()


def test_unchanged_text_is_never_embedded_twice(tmp_path, minilm) -> None:
    from aios_kernel._memory import Memory

    wb = Workbench.init(tmp_path / "ws")
    counting = FaultyEmbedder(fail_calls=0)
    mem = Memory(wb.store, wb.paths, wb.config, embedder=counting)
    mem.remember_many([{"text": "alpha beta", "meta": {"n": i}} for i in range(3)] + ["gamma delta"])
    ref = mem.remember("alpha beta", tier="long-term")  # same text, another record
    mem.update(ref, "gamma delta", reason="same text as another memory")
    mem.remember_many(["alpha beta", "gamma delta"])
    assert sorted(counting.embedded) == ["alpha beta", "gamma delta"]
    assert mem.store.scalar("SELECT count(*) FROM memory_embeddings") == 2
    mem.close()
    wb.close()


def test_long_ingest_shows_a_progress_bar(mem, capsys) -> None:
    mem.remember_many([f"progress item {i}" for i in range(20)], progress=True)
    assert "embedding" in capsys.readouterr().err


def test_changing_the_model_re_embeds_through_a_migration(tmp_path, minilm) -> None:
    root = tmp_path / "ws"
    Workbench.init(root).close()
    cfg = root / "aios.toml"
    cfg.write_text(cfg.read_text().replace("[dask]", "[memory]\nint8 = false\n\n[dask]"))
    with Workbench.open(root) as wb:
        ref = wb.memory.remember("Felix owns the digital operations roadmap.")
        wb.memory.remember("Anja is the in-house UX designer.")
        assert wb.memory.recall("who owns the roadmap", k=1)[0].id == ref.id
    cfg.write_text(cfg.read_text().replace("int8 = false", "int8 = true"))
    with Workbench.open(root) as wb:
        assert wb.memory.embedder.model_id.endswith(INT8_SUFFIX)
        assert wb.memory.pending() == 2
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            hits = wb.memory.recall("who owns the roadmap", k=1)
        assert hits[0].id == ref.id and "dense" in hits[0].why["layers"]
        assert wb.memory.pending() == 0
        changes = wb.store.events(type="memory.model_changed")
        assert [e.payload["model_id"] for e in changes] == [
            "sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2" + INT8_SUFFIX]
        assert wb.store.scalar("SELECT model_id FROM memory_models WHERE active=1").endswith(INT8_SUFFIX)
