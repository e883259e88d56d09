"""Memory: retrieval quality on LoCoMo, embedding throughput, re-ingest, recall latency at scale.

Side by side in one run:

1. **LoCoMo retrieval** (``../shared/data/locomo/locomo_dev.json``, the
   protocol of its README): our layered retrieval through ``wb.memory``
   against plain dense MiniLM (cosine over the same vectors) and BM25
   (bm25s, English stop words), and their reciprocal-rank fusion; R@5 and
   R@10 over the questions of categories 1-4.
2. **Embedding throughput**: the same 5,000 turns through
   ``wb.memory.remember_many`` (store writes included) and through
   ``SentenceTransformer.encode``, both on all cores. The dev split has
   2,760 turns; the other 2,240 texts are the first turns again without the
   speaker prefix (distinct texts, the same length mix). The default int8
   model and the float32 one are both measured; the LoCoMo table shows both
   recall figures, so the cost of the faster default is in plain view.
3. **Re-ingest** of the same 5,000 unchanged turns (content hashes: nothing
   is embedded or written again).
4. **Recall latency** at 100,000 memories (synthetic sentences), p50/p95
   including the query embedding, and resident memory. The 100,000 records
   go through the store's own write path (``memory.created`` events); their
   vectors are random unit vectors written to the embeddings table instead of
   running the model 100,000 times, and the index is built from the store as
   on any first open. Search cost does not depend on what the vectors hold.
5. **Approximate against exact**: how much of the exact top 10 and top 100
   the inverted-file index finds, on the real vectors of part 2 and LoCoMo
   questions, probing 1/16, 1/8 (the default's share at scale) and 32 lists.

``quick`` runs one conversation, 1,000 turns and 10,000 memories.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from benchmarks import _locomo

MODES = ("ours", "dense", "bm25", "rrf")


def _workbench(root: Path, extra: str = "") -> Any:
    from aios_kernel import Workbench

    Workbench.init(root).close()
    if extra:
        _configure(root, extra)
    return Workbench.open(root)


def _configure(root: Path, extra: str) -> None:
    """Add TOML tables to a workspace's aios.toml (before ``[dask]``, which every new one has)."""
    cfg = root / "aios.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("[dask]", f"{extra}\n\n[dask]"), encoding="utf-8")


# -- 1. LoCoMo ---------------------------------------------------------------------------------


def _baselines(wb: Any, conv: _locomo.Conversation) -> dict[str, Any]:
    """Plain dense (cosine over the stored MiniLM vectors) and bm25s rankers over the same turns."""
    import bm25s
    import numpy as np

    texts = [t["text"] for t in conv.turns]
    dia = [t["meta"]["dia_id"] for t in conv.turns]
    from aios_kernel._memory._records import content_hash

    rows = dict(wb.store.query("SELECT content_hash, vector FROM memory_embeddings WHERE model_id=?",
                               (wb.memory.embedder.model_id,)))
    matrix = np.stack([np.frombuffer(rows[content_hash(t)], np.float32) for t in texts])
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)

    def dense(q: str, n: int) -> list[int]:
        return list(np.argsort(-(matrix @ wb.memory.embedder.query_vector(q)), kind="stable")[:n])

    def bm25(q: str, n: int) -> list[int]:
        docs, _ = retriever.retrieve(bm25s.tokenize([q], stopwords="en", show_progress=False), k=min(n, len(texts)),
                                     show_progress=False)
        return [int(d) for d in docs[0]]

    def rrf(q: str, n: int) -> list[int]:
        score: dict[int, float] = {}
        for ranking in (dense(q, 100), bm25(q, 100)):
            for r, d in enumerate(ranking):
                score[d] = score.get(d, 0.0) + 1.0 / (60 + r + 1)
        return sorted(score, key=lambda d: -score[d])[:n]

    return {name: (lambda q, k, f=f: [dia[i] for i in f(q, k)]) for name, f in (("dense", dense), ("bm25", bm25), ("rrf", rrf))}


def locomo(tmp: Path, quick: bool) -> dict[str, dict[int, float]]:
    convs = list(_locomo.conversations())[: 1 if quick else None]
    scores: dict[str, dict[int, list[float]]] = {m: {5: [], 10: []} for m in (*MODES, "ours_fp32")}
    for conv in convs:
        variants = [("ours", ""), ("ours_fp32", "[memory]\nint8 = false")]
        for name, extra in variants:
            root = tmp / f"{conv.sample_id}-{name}"
            with _workbench(root, extra) as wb:
                wb.memory.remember_many(conv.turns, progress=False)
                search = {name: lambda q, k: [h.meta["dia_id"] for h in wb.memory.recall(q, k=k)]}
                if name == "ours_fp32":  # the baselines use the plain float32 model
                    search.update(_baselines(wb, conv))
                for mode, fn in search.items():
                    got = _locomo.score(conv, fn)
                    for k in (5, 10):
                        scores[mode][k].extend(got[k])
            shutil.rmtree(root, ignore_errors=True)
    n = len(scores["ours"][10])
    print(f"LoCoMo retrieval: {len(convs)} conversation(s), {n} questions (categories 1-4 with evidence)")
    print(f"  {'retriever':<44}{'R@5':>7}{'R@10':>7}")
    labels = {"ours": "wb.memory.recall (default: int8 MiniLM)", "ours_fp32": "wb.memory.recall, float32 MiniLM",
              "dense": "dense MiniLM (cosine, float32)", "bm25": "BM25 (bm25s, English stop words)", "rrf": "RRF of dense and BM25"}
    out = {}
    for mode in ("ours", "ours_fp32", "dense", "bm25", "rrf"):
        if scores[mode][10]:
            r5, r10 = (statistics.fmean(scores[mode][k]) for k in (5, 10))
            out[mode] = {5: r5, 10: r10}
            print(f"  {labels[mode]:<44}{r5:>7.3f}{r10:>7.3f}")
    return out


# -- 2./3. throughput and re-ingest ------------------------------------------------------------


def _turn_texts(n: int) -> list[dict[str, Any]]:
    turns = [t for conv in _locomo.conversations() for t in conv.turns]
    items = [{"text": t["text"], "meta": t["meta"], "event_time": t["event_time"], "kind": "turn"} for t in turns]
    extra = [{"text": t["text"].split(": ", 1)[1], "meta": dict(t["meta"], variant="bare"), "event_time": t["event_time"],
              "kind": "turn"} for t in turns]
    out = (items + extra)[:n]
    assert len({i["text"] for i in out}) > 0.98 * len(out)
    return out


def throughput(tmp: Path, quick: bool) -> None:
    import torch
    from sentence_transformers import SentenceTransformer

    from aios_kernel._models._locate import minilm_dir

    n = 1000 if quick else 5000
    items = _turn_texts(n)
    texts = [i["text"] for i in items]
    st = SentenceTransformer(str(minilm_dir()), device="cpu")
    st.encode(texts[:64])
    from aios_kernel._models._embedding import load_embedder

    load_embedder()
    load_embedder(int8=True)
    rounds = 1 if quick else 2
    t_st: list[float] = []
    t_st1: list[float] = []
    t_ours: dict[str, list[float]] = {"int8": [], "fp32": []}
    t_again: list[float] = []
    for r in range(rounds):
        # Alternate, and keep each side's best round: the machine is shared.
        t0 = time.perf_counter()
        st.encode(texts)
        t_st.append(time.perf_counter() - t0)
        # The same on one torch thread: on a shared machine two intra-op threads can
        # lose more to waiting for each other than they gain; this row shows it.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        t0 = time.perf_counter()
        st.encode(texts)
        t_st1.append(time.perf_counter() - t0)
        torch.set_num_threads(threads)
        for name, extra in (("int8", ""), ("fp32", "[memory]\nint8 = false")):
            root = tmp / f"throughput-{name}-{r}"
            with _workbench(root, extra) as wb:
                t0 = time.perf_counter()
                refs = wb.memory.remember_many(items, progress=False)
                t_ours[name].append(time.perf_counter() - t0)
                assert len(refs) == n and wb.memory.pending() == 0
                if name == "int8":
                    seq = wb.store.last_seq()
                    t0 = time.perf_counter()
                    again = wb.memory.remember_many(items, progress=False)
                    t_again.append(time.perf_counter() - t0)
                    assert again == refs and wb.store.last_seq() == seq
                    if r == 0:
                        vectors = _stored_vectors(wb)
                        questions = [q for conv in _locomo.conversations() for q, _ in conv.questions][: 100 if quick else 400]
                        qvecs = [wb.memory.embedder.query_vector(q) for q in questions]
            shutil.rmtree(root, ignore_errors=True)
    best_st = min(t_st)
    print(f"\nEmbedding throughput: {n} LoCoMo turns, torch threads {torch.get_num_threads()}, {os.cpu_count()} cores, "
          f"best of {rounds}, load average {os.getloadavg()[0]:.1f}")
    print(f"  {'path':<58}{'seconds':>9}{'texts/s':>9}{'vs ST':>7}")
    print(f"  {'SentenceTransformer.encode (batch 32)':<58}{best_st:>9.2f}{n / best_st:>9.0f}{1.0:>7.2f}")
    st1 = min(t_st1)
    print(f"  {'SentenceTransformer.encode, one torch thread':<58}{st1:>9.2f}{n / st1:>9.0f}{best_st / st1:>7.2f}")
    for name, label in (("int8", "remember_many (default: int8, Dask local, length buckets)"),
                        ("fp32", "remember_many, float32 model ([memory] int8 = false)")):
        best = min(t_ours[name])
        print(f"  {label:<58}{best:>9.2f}{n / best:>9.0f}{best_st / best:>7.2f}")
    print(f"  ratio of the default to the faster SentenceTransformer row: {min(best_st, st1) / min(t_ours['int8']):.2f}")
    first, again = min(t_ours["int8"]), min(t_again)
    print(f"\nRe-ingest of the same {n} unchanged turns: {again:.3f}s vs {first:.2f}s first ingest = {first / again:.0f}x faster")
    ivf_agreement(vectors, qvecs)


def _stored_vectors(wb: Any) -> Any:
    import numpy as np

    rows = wb.store.query("SELECT vector FROM memory_embeddings WHERE model_id=?", (wb.memory.embedder.model_id,))
    return np.stack([np.frombuffer(r[0], np.float32) for r in rows])


def ivf_agreement(vectors: Any, qvecs: list[Any]) -> None:
    """How much of the exact top 10 / top 100 the approximate index finds, on real MiniLM vectors."""
    import faiss
    import numpy as np

    from aios_kernel._memory._index import VectorIndex

    q = np.stack(qvecs).astype(np.float32)
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    _, want = exact.search(q, 100)
    with tempfile.TemporaryDirectory() as folder:
        ivf = VectorIndex(Path(folder), "bench", vectors.shape[1], exact_max=0)
        ivf.reset(np.arange(len(vectors)), vectors)
        nlist = ivf.index.nlist
        print(f"\nApproximate index (IVF) against exact search: {len(vectors)} LoCoMo turn vectors (int8 MiniLM), "
              f"{len(q)} LoCoMo questions, {nlist} lists")
        print(f"  {'lists probed':<28}{'top-10 found':>14}{'top-100 found':>15}")
        for nprobe in sorted({max(1, nlist // 16), max(1, nlist // 8), min(nlist, 32)}):
            ivf.index.nprobe = nprobe
            _, got = ivf.index.search(q, 100)
            at = {k: np.mean([len(set(got[i, :k]) & set(want[i, :k])) / k for i in range(len(q))]) for k in (10, 100)}
            note = " (the default's share at 100,000: one in eight)" if nprobe == max(1, nlist // 8) else ""
            print(f"  {f'{nprobe} of {nlist}':<28}{at[10]:>14.3f}{at[100]:>15.3f}{note}")


# -- 4. latency at scale -----------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _bulk_load(wb: Any, n: int, rng: random.Random) -> None:
    """``n`` synthetic memories through the store's write path, with random unit vectors."""
    import numpy as np

    from aios_kernel._ids import iso
    from aios_kernel._memory import _records

    vocab = sorted({w.strip(".,!?\"'()").lower() for c in _locomo.conversations() for t in c.turns
                    for w in t["text"].split() if w.isascii() and len(w) > 2})
    names = ["Caroline", "Melanie", "Jon", "Gina", "John", "Maria", "Joanna", "Nate", "Tim", "Audrey"]
    model_id = wb.memory.embedder.model_id
    wb.memory._ensure_model(model_id)
    vrng = np.random.default_rng(0)
    chunk = 5000
    for start in range(0, n, chunk):
        prepared, vectors = [], []
        for i in range(start, min(n, start + chunk)):
            speaker = names[i % len(names)]
            text = f"{speaker}: " + " ".join(rng.choice(vocab) for _ in range(rng.randint(8, 30))) + f" ({i})"
            prepared.append(_records.prepare({"text": text, "kind": "turn", "meta": {"speaker": speaker, "session": f"s{i // 25}",
                                              "n": i}}, defaults={}, max_chars=10_000, extra_kinds=(),
                                             session_id=wb.memory.session_id))
        _records.create_many(wb.store, prepared, actor="bench")
        v = vrng.standard_normal((len(prepared), 384)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        now = iso()
        with wb.store.atomic() as conn:
            conn.executemany("INSERT OR IGNORE INTO memory_embeddings VALUES (?,?,?,?,?)",
                             [(p.chash, model_id, 384, v[j].tobytes(), now) for j, p in enumerate(prepared)])
    wb.memory._vocab = vocab


def _measure(root: str, vocab: list[str], seed: int) -> dict[str, Any]:
    """Open the workspace in a fresh process, recall 200 queries; latencies and resident memory."""
    import numpy as np

    from aios_kernel import Workbench

    warnings.simplefilter("ignore")
    rng = random.Random(seed)
    rss_start = _rss_mb()
    with Workbench.open(root) as wb:
        t0 = time.perf_counter()
        wb.memory.recall("warm up the caches", k=10)
        first = time.perf_counter() - t0
        queries = [" ".join(rng.choice(vocab) for _ in range(rng.randint(3, 9))) for _ in range(200)]
        queries = [f"What did {rng.choice(['Caroline', 'Jon', 'Maria'])} say about {q}?" if i % 3 == 0 else q
                   for i, q in enumerate(queries)]
        embed_t, total_t = [], []
        for q in queries[:50]:
            t0 = time.perf_counter()
            wb.memory.embedder.query_vector(q + " (timing)")
            embed_t.append(time.perf_counter() - t0)
        for q in queries:
            t0 = time.perf_counter()
            hits = wb.memory.recall(q, k=10)
            total_t.append(time.perf_counter() - t0)
            assert len(hits) == 10
        index = wb.memory._engine.index
        kind = index.kind if index.kind == "exact" else f"IVF, nprobe {index.index.nprobe}/{index.index.nlist}"
        rss = _rss_mb()
    return {"index": kind, "p50": float(np.percentile(total_t, 50)) * 1e3, "p95": float(np.percentile(total_t, 95)) * 1e3,
            "embed50": float(np.percentile(embed_t, 50)) * 1e3, "first": first, "rss": rss, "rss_start": rss_start}


def latency(tmp: Path, quick: bool) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    n = 10_000 if quick else 100_000
    exact_root, default_root = tmp / "latency-exact", tmp / "latency-default"
    with _workbench(default_root) as wb:
        t0 = time.perf_counter()
        _bulk_load(wb, n, random.Random(7))
        load_s = time.perf_counter() - t0
        vocab = wb.memory._vocab
    shutil.copytree(default_root, exact_root)
    _configure(exact_root, f"[memory]\nexact_max = {n}")
    rows = []
    for label, root in (("default", default_root), ("exact (IndexFlatIP, forced)", exact_root)):
        with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as pool:
            rows.append((label, pool.submit(_measure, str(root), vocab, 11).result()))
    load = os.getloadavg()[0]
    print(f"\nRecall latency at {n:,} memories (synthetic turns, 10 speakers, episodes of 25; 200 queries, k=10, "
          f"query embedding included; {os.cpu_count()} cores, load average {load:.1f})")
    print(f"  bulk load: {n:,} memory.created events + random unit vectors in {load_s:.1f}s (not the model path)")
    print(f"  {'index':<30}{'p50 ms':>8}{'p95 ms':>8}{'embed p50':>10}{'first recall s':>15}{'RSS MB':>8}")
    for label, r in rows:
        label = f"{label}: {r['index']}" if label == "default" else label
        print(f"  {label:<30}{r['p50']:>8.1f}{r['p95']:>8.1f}{r['embed50']:>10.1f}{r['first']:>15.1f}{r['rss']:>8.0f}")
    p95 = rows[0][1]["p95"]
    print(f"  target p95 <= 15 ms with the default index: {p95:.1f} ms, {'met' if p95 <= 15 else 'MISSED'}")
    print(f"  (fresh process per row, {rows[0][1]['rss_start']:.0f} MB before opening the workspace; the first recall "
          "loads the catalog and keyword index and builds the vector index from the store)")


def main(quick: bool) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.simplefilter("ignore")
    if not _locomo.data_path().exists():
        print(f"LoCoMo data not found at {_locomo.data_path()} (set AIOS_LOCOMO); skipping the memory benchmark")
        return
    with tempfile.TemporaryDirectory(prefix="aios-bench-memory-") as tmp:
        locomo(Path(tmp), quick)
        throughput(Path(tmp), quick)
        latency(Path(tmp), quick)


if __name__ == "__main__":
    import sys

    main("--quick" in sys.argv)
