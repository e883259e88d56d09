"""Batched embedding through Dask.

Texts are grouped into length buckets (similar lengths in one batch, so
little padding is computed), each batch becomes one Dask task, and results
come back batch by batch so the caller can store them as they arrive: an
ingest killed halfway keeps what it finished. Without ``[dask] address``
the tasks run on Dask's local threaded scheduler, ``workers`` threads
each running the model single-threaded (faster on CPU than one thread
running it multi-threaded); with an address they go to that
``dask.distributed`` scheduler, and every worker process loads the model
once (``load_embedder`` caches it) and keeps it for all its batches.

A batch that fails is reported back, not raised, so the records it held stay
pending and are retried later.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

PROGRESS_MIN_TEXTS = 256
"""Ingests at least this long show a progress bar."""
INGEST_BATCH_CHARS = 4_000
"""``[dask] batch_chars`` by default: a batch's padded size at most, about two passages at the model's window
(four e-mail passages).

What a wave of batches frees stays in the allocator's per-thread arenas until the wave ends (``trim_heap``),
so a wave's peak grows with this bound: embedding mail on two threads, about 300 MB over the loaded model at
12,000 and about 100 MB at 4,000, at the same speed (a batch of 512 tokens already keeps the CPU busy)."""


def embed_batch(model: str, int8: bool, threads: int, texts: list[str]) -> Any:
    """Embed one batch; runs in a Dask task (thread or worker process)."""
    from .._models._embedding import load_embedder

    return load_embedder(model, int8=int8, threads=threads).encode_batch(texts)


@dataclass
class EmbedSettings:
    """What to embed with and how to spread the work (from aios.toml)."""

    model: str = "all-MiniLM-L6-v2"
    int8: bool = True
    batch_size: int = 64
    batch_chars: int = INGEST_BATCH_CHARS
    """A batch's padded size at most (texts times the longest): what bounds an ingest's peak memory."""
    address: str = ""
    workers: int = 0
    threads: int = 0

    @classmethod
    def from_config(cls, config: Any) -> EmbedSettings:
        from .._models._embedding import embedding_settings

        model, int8 = embedding_settings(config)
        return cls(
            model=model,
            int8=int8,
            batch_size=max(1, int(config.get("dask.batch_size") or 64)),
            batch_chars=max(1, int(config.get("dask.batch_chars") or INGEST_BATCH_CHARS)),
            address=config.get("dask.address") or "",
            workers=int(config.get("dask.workers") or 0),
            threads=int(config.get("models.threads") or 0),
        )


@dataclass
class BatchFailure:
    """One batch that could not be embedded: its text positions and the error."""

    positions: list[int]
    error: str


@dataclass
class DaskEmbedder:
    """Embeds texts in length-bucketed batches on a local or distributed Dask scheduler."""

    settings: EmbedSettings = field(default_factory=EmbedSettings)
    _client: Any = None

    @property
    def model_id(self) -> str:
        from .._models._embedding import INT8_SUFFIX
        from .._models._locate import embedding_model

        return embedding_model(self.settings.model)[1] + (INT8_SUFFIX if self.settings.int8 else "")

    @property
    def dim(self) -> int:
        from .._models._locate import embedding_model

        folder = embedding_model(self.settings.model)[0]
        return int(json.loads((folder / "config.json").read_text())["hidden_size"])

    def query_vector(self, text: str) -> Any:
        """One query's vector, computed in this process (no scheduler round trip)."""
        from .._models._embedding import load_embedder

        return load_embedder(self.settings.model, int8=self.settings.int8).encode_query(text)

    def plan(self, texts: Sequence[str]) -> list[list[int]]:
        """Positions of ``texts`` grouped into batches of similar length."""
        from .._models._embedding import length_batches

        return length_batches([len(t) for t in texts], self.settings.batch_size, self.settings.batch_chars)

    def embed(self, texts: Sequence[str], on_batch: Callable[[list[int], Any], None], *,
              progress: bool | None = None) -> list[BatchFailure]:
        """Embed ``texts``; ``on_batch(positions, vectors)`` is called as each batch finishes."""
        batches = self.plan(texts)
        if not batches:
            return []
        show = progress if progress is not None else len(texts) >= PROGRESS_MIN_TEXTS
        failures: list[BatchFailure] = []
        with _progress(show, len(texts)) as bar:
            runner = self._distributed if self.settings.address else self._local
            for positions, result in runner(texts, batches):
                if isinstance(result, BaseException):
                    failures.append(BatchFailure(positions, f"{type(result).__name__}: {result}"))
                else:
                    on_batch(positions, result)
                bar.update(len(positions))
        return failures

    # -- schedulers -------------------------------------------------------------------

    def _local(self, texts: Sequence[str], batches: list[list[int]]) -> Iterator[tuple[list[int], Any]]:
        import dask

        from .._models._embedding import torch_threads, trim_heap

        workers = self.settings.workers or os.cpu_count() or 1
        threads = self.settings.threads or max(1, (os.cpu_count() or 1) // workers)
        s = self.settings
        # Load once before the threads start, so they do not race to load it.
        try:
            from .._models._embedding import load_embedder

            load_embedder(s.model, int8=s.int8)
        except Exception as exc:  # noqa: BLE001  (reported per batch; the records stay pending)
            for positions in batches:
                yield positions, exc
            return
        with torch_threads(threads):
            wave = workers * 2
            for start in range(0, len(batches), wave):
                group = batches[start:start + wave]
                tasks = [dask.delayed(_guarded)(s.model, s.int8, 0, [texts[i] for i in b]) for b in group]
                results = dask.compute(*tasks, scheduler="threads", num_workers=workers)
                yield from zip(group, results)
                del results
                trim_heap()

    def _distributed(self, texts: Sequence[str], batches: list[list[int]]) -> Iterator[tuple[list[int], Any]]:
        from distributed import as_completed

        client = self.client()
        s = self.settings
        futures = {}
        for positions in batches:
            # One model thread per task, as on the local scheduler: the same arithmetic, the same vectors.
            fut = client.submit(embed_batch, s.model, s.int8, s.threads or 1, [texts[i] for i in positions], pure=False)
            futures[fut.key] = (fut, positions)
        for fut in as_completed([f for f, _ in futures.values()], loop=client.loop):
            positions = futures[fut.key][1]
            try:
                yield positions, fut.result()
            except Exception as exc:  # noqa: BLE001
                yield positions, exc

    def client(self) -> Any:
        """The ``distributed.Client`` for ``[dask] address`` (connected on first use)."""
        if self._client is None:
            from distributed import Client

            from .._errors import ConfigError

            try:
                self._client = Client(self.settings.address, timeout="10s", set_as_default=False)
            except OSError as exc:
                raise ConfigError(f"cannot reach the Dask scheduler at {self.settings.address} ({exc}); start it "
                                  "(`dask scheduler`) or empty [dask] address in aios.toml to embed in-process",
                                  key="dask.address") from exc
        return self._client

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()
            self._client = None


def _guarded(model: str, int8: bool, threads: int, texts: list[str]) -> Any:
    try:
        return embed_batch(model, int8, threads, texts)
    except Exception as exc:  # noqa: BLE001  (a failed batch is reported, the others go on)
        return exc


@contextlib.contextmanager
def _progress(show: bool, total: int) -> Iterator[Any]:
    if not show:
        yield _NoBar()
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc="embedding", unit="text", leave=False)
    try:
        yield bar
    finally:
        bar.close()


class _NoBar:
    def update(self, n: int) -> None:
        pass
