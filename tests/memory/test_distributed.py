"""Embedding on a real dask.distributed cluster: a scheduler and two worker processes on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from aios_kernel import Workbench

DASK = Path(sys.executable).parent / "dask"


def _wait_for(path: Path, procs: list[subprocess.Popen], timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"{p.args} exited early with {p.returncode}")
        if path.exists() and path.stat().st_size:
            try:
                return json.loads(path.read_text())
            except ValueError:
                pass
        time.sleep(0.2)
    raise TimeoutError(f"{path} did not appear in {timeout}s")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """``dask scheduler`` and two ``dask worker`` processes; torn down after the test."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               DASK_DISTRIBUTED__WORKER__DAEMON="False")
    sched_file = tmp_path / "scheduler.json"
    procs: list[subprocess.Popen] = []
    log = (tmp_path / "dask.log").open("w")
    try:
        procs.append(subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                       "--scheduler-file", str(sched_file)], env=env, stdout=log, stderr=log,
                                      start_new_session=True))
        address = _wait_for(sched_file, procs)["address"]
        for _ in range(2):
            procs.append(subprocess.Popen([str(DASK), "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                                           "--no-nanny", "--no-dashboard", "--memory-limit", "0"],
                                          env=env, stdout=log, stderr=log, start_new_session=True))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        if sched_file.exists():
            try:  # the polite way: the scheduler tells its workers to close, then closes
                from distributed import Client

                with Client(json.loads(sched_file.read_text())["address"], timeout="5s") as client:
                    client.shutdown()
            except Exception:  # noqa: BLE001  (whatever state it is in, the kill below ends it)
                pass
        for p in reversed(procs):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        log.close()


def _vectors(wb: Workbench) -> dict[str, bytes]:
    return {r[0]: r[1] for r in wb.store.query("SELECT content_hash, vector FROM memory_embeddings")}


@pytest.mark.slow
def test_distributed_embedding_gives_the_local_vectors(tmp_path: Path, cluster: str, minilm) -> None:
    texts = [{"text": f"Turn {i}: " + "the depot visit went well " * (1 + i % 7), "meta": {"i": i}} for i in range(150)]
    local_root, dist_root = tmp_path / "local", tmp_path / "dist"
    for root in (local_root, dist_root):
        Workbench.init(root).close()
        cfg = root / "aios.toml"
        cfg.write_text(cfg.read_text().replace("batch_size = 64", "batch_size = 16"))
    with Workbench.open(local_root) as wb:
        wb.memory.remember_many(texts, progress=False)
        local = _vectors(wb)
    cfg = dist_root / "aios.toml"
    cfg.write_text(cfg.read_text().replace('address = ""', f'address = "{cluster}"'))
    with Workbench.open(dist_root) as wb:
        assert wb.memory.embedder.settings.address == cluster
        refs = wb.memory.remember_many(texts, progress=False)
        client = wb.memory.embedder.client()
        per_worker = client.run(lambda: __import__("aios_kernel._models._embedding", fromlist=["LOADS"]).LOADS)
        distributed = _vectors(wb)
        hits = wb.memory.recall("depot visit", k=3)
    assert len(per_worker) == 2
    # 10 batches over two workers, and each worker process loaded the model once.
    assert all(loads == [wb.memory.embedder.model_id] for loads in per_worker.values()), per_worker
    assert len(refs) == 150 and set(distributed) == set(local)
    a = np.stack([np.frombuffer(local[h], np.float32) for h in sorted(local)])
    b = np.stack([np.frombuffer(distributed[h], np.float32) for h in sorted(local)])
    assert np.array_equal(a, b), np.abs(a - b).max()  # identical, not merely close
    assert hits and hits[0].why["layers"]
