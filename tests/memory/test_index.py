"""The faiss index: persisted, rebuilt when missing or corrupt, exact or approximate, always current."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from aios_kernel import Workbench
from aios_kernel._memory import MemoryWarning

from .conftest import write_toml

TEXTS = [
    "Brightwater runs about 140 drivers out of three depots.",
    "Proof-of-delivery photos fail to upload in dead zones.",
    "Damage reports are still on a paper form.",
    "Nordlys wants the onboarding flow tested in November.",
    "The accountant needs the October receipts by the tenth.",
]


def _index_files(root: Path) -> list[Path]:
    return sorted((root / "index").glob("memory-*.faiss"))


def _seed(root: Path) -> list[str]:
    with Workbench.init(root) as wb:
        refs = wb.memory.remember_many(TEXTS)
        wb.memory.recall("warm up", k=1)
        return [r.id for r in refs]


def test_index_is_saved_and_loaded_not_rebuilt(tmp_path: Path, minilm) -> None:
    ids = _seed(tmp_path / "ws")
    [path] = _index_files(tmp_path / "ws")
    mtime = path.stat().st_mtime_ns
    with Workbench.open(tmp_path / "ws") as wb, warnings.catch_warnings():
        warnings.simplefilter("error")
        assert wb.memory.recall("paper damage form", k=1)[0].id == ids[2]
        assert wb.memory._engine.index.ntotal == 5
    assert path.stat().st_mtime_ns == mtime


def test_missing_index_is_rebuilt_from_the_store(tmp_path: Path, minilm) -> None:
    ids = _seed(tmp_path / "ws")
    for p in (tmp_path / "ws" / "index").iterdir():
        p.unlink()
    with Workbench.open(tmp_path / "ws") as wb, warnings.catch_warnings():
        warnings.simplefilter("error")
        hit = wb.memory.recall("photos upload dead zones", k=1)[0]
        assert hit.id == ids[1] and "dense" in hit.why["layers"]
    assert _index_files(tmp_path / "ws")


@pytest.mark.parametrize("damage", ["garbage", "truncate", "sidecar"])
def test_corrupt_index_is_rebuilt_with_a_warning(tmp_path: Path, minilm, damage: str) -> None:
    ids = _seed(tmp_path / "ws")
    [path] = _index_files(tmp_path / "ws")
    if damage == "garbage":
        data = bytearray(path.read_bytes())
        data[len(data) // 2: len(data) // 2 + 64] = b"\xff" * 64
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    else:
        path.with_suffix(".json").write_text("{not json")
    with Workbench.open(tmp_path / "ws") as wb:
        with pytest.warns(MemoryWarning, match="rebuilding it from the store"):
            hit = wb.memory.recall("how many drivers", k=1)[0]
        assert hit.id == ids[0] and "dense" in hit.why["layers"]
    with Workbench.open(tmp_path / "ws") as wb, warnings.catch_warnings():
        warnings.simplefilter("error")  # the rebuilt file reads back cleanly
        assert wb.memory.recall("how many drivers", k=1)[0].id == ids[0]


def test_updates_and_tombstones_are_visible_immediately(mem) -> None:
    refs = mem.remember_many(TEXTS)
    assert mem.recall("receipts for the accountant", k=1)[0].id == refs[4].id
    mem.update(refs[4], "The tax adviser wants the October receipts by the tenth.", reason="new adviser")
    hit = mem.recall("tax adviser receipts", k=1)[0]
    assert hit.id == refs[4].id and hit.version == 2 and "adviser" in hit.text
    engine = mem._engine
    assert engine.index.ntotal == 5
    mem.forget(refs[4], reason="done")
    assert refs[4].id not in {h.id for h in mem.recall("tax adviser receipts", k=5)}
    assert engine.index.ntotal == 4


def test_writes_from_another_connection_show_up_at_the_next_recall(tmp_path: Path, minilm) -> None:
    ids = _seed(tmp_path / "ws")
    with Workbench.open(tmp_path / "ws") as reader, Workbench.open(tmp_path / "ws") as writer:
        assert reader.memory.recall("drivers depots", k=1)[0].id == ids[0]
        new = writer.memory.remember("A fourth depot opens in Lübeck next spring.")
        writer.memory.forget(ids[0], reason="outdated")
        hits = reader.memory.recall("depots", k=5)
        assert hits[0].id == new.id and "dense" in hits[0].why["layers"]
        assert ids[0] not in {h.id for h in hits}


def test_stale_saved_index_is_reconciled_on_open(tmp_path: Path, minilm) -> None:
    ids = _seed(tmp_path / "ws")
    with Workbench.open(tmp_path / "ws") as wb:  # writes without ever loading the index
        extra = wb.memory.remember("Weekly check-in every Thursday at 09:30.")
        wb.memory.forget(ids[3], reason="cancelled")
    with Workbench.open(tmp_path / "ws") as wb:
        hits = wb.memory.recall("when is the weekly check-in", k=5)
        assert hits[0].id == extra.id and "dense" in hits[0].why["layers"]
        assert ids[3] not in {h.id for h in hits}
        assert wb.memory._engine.index.ntotal == 5


def test_past_exact_max_the_index_becomes_approximate(tmp_path: Path, minilm) -> None:
    root = tmp_path / "ws"
    Workbench.init(root).close()
    write_toml(root, "")
    cfg = root / "aios.toml"
    cfg.write_text(cfg.read_text().replace("[dask]", "[memory]\nexact_max = 60\nnprobe = 64\n\n[dask]"))
    with Workbench.open(root) as wb:
        mem = wb.memory
        refs = mem.remember_many([f"Record {i} about topic {i % 9} and item {i}" for i in range(50)])
        assert mem.recall("topic 3", k=1) and mem._engine.index.kind == "exact"
        target = mem.remember("The VAT return for Q3 is due on 10 October.")
        mem.remember_many([f"Filler memory number {i} on logistics" for i in range(30)])
        assert mem.recall("VAT return due date", k=1)[0].id == target.id
        assert mem._engine.index.kind == "ivf" and mem._engine.index.ntotal == 81
        mem.forget(target, reason="filed")
        assert target.id not in {h.id for h in mem.recall("VAT return due date", k=5)}
        assert mem._engine.index.ntotal == 80
        mem.update(refs[0], "Record 0 now concerns the VAT return too.", reason="changed")
        assert mem.recall("VAT return due date", k=1)[0].id == refs[0].id
    with Workbench.open(root) as wb:  # the IVF index is saved and loaded
        assert wb.memory.recall("VAT return", k=1)[0].id == refs[0].id
        assert wb.memory._engine.index.kind == "ivf"


def test_a_saved_exact_index_past_a_lowered_threshold_loads_as_approximate(tmp_path: Path, minilm) -> None:
    root = tmp_path / "ws"
    Workbench.init(root).close()
    with Workbench.open(root) as wb:
        refs = wb.memory.remember_many([f"Record {i} about topic {i % 9} and item {i}" for i in range(60)])
        assert wb.memory.recall("topic 3", k=1) and wb.memory._engine.index.kind == "exact"
    cfg = root / "aios.toml"
    cfg.write_text(cfg.read_text().replace("[dask]", "[memory]\nexact_max = 40\n\n[dask]"))
    with Workbench.open(root) as wb:
        hits = wb.memory.recall("Record 7 about topic 7 and item 7", k=1)
        index = wb.memory._engine.index
        assert index.kind == "ivf" and index.ntotal == 60
        assert hits[0].id == refs[7].id


def test_the_automatic_nprobe_searches_an_eighth_of_the_lists(tmp_path: Path) -> None:
    from aios_kernel._memory._index import VectorIndex

    auto, fixed = VectorIndex(tmp_path, "m", 8), VectorIndex(tmp_path, "m", 8, nprobe=5)
    assert [auto._nprobe(n) for n in (16, 141, 256, 1264)] == [16, 32, 32, 158]
    assert [fixed._nprobe(n) for n in (3, 141)] == [3, 5]
