"""The vector index: faiss, persisted under the workspace's ``index/`` folder.

Up to ``exact_max`` vectors (default 30,000) the index is exact inner
product (``IndexIDMap2`` over ``IndexFlatIP``; vectors are unit length, so
this is cosine). Past that it becomes an inverted-file index
(``IndexIVFFlat``, nlist about 2*sqrt(n), searched with ``nprobe`` lists,
by default one list in eight and at least 32): approximate, and still
exact about deletions.

Why 30,000: an exact search reads every vector, about 0.13 us each on one
core here (13 ms at 100,000), and recall's budget is 15 ms with the query
embedding (about 4 ms) and the keyword layer included. Past the threshold
the inverted file answers in 1-2 ms. On MiniLM vectors of 5,520 LoCoMo
turns (141 lists) it finds 0.975 of the exact top 10 probing 16 lists and
0.993 probing 32.

The index is a cache of the store: the file carries its model id, count and
a CRC of its bytes in a JSON sidecar. A missing file is rebuilt from the
stored vectors; a file that does not read back, or whose CRC, model or size
disagree, is rebuilt with a warning. Ids are 63-bit hashes of (memory id,
content hash), so an updated memory gets a new id and the old one is removed.
"""

from __future__ import annotations

import json
import os
import re
import zlib
from pathlib import Path
from typing import Any

EXACT_MAX = 30_000
AUTO_NPROBE_MIN = 32
"""With ``nprobe=0`` (automatic), an IVF index searches max(32, nlist/8) lists."""


class IndexFileError(Exception):
    """The index file is missing pieces or does not read back (internal: the caller rebuilds)."""


class VectorIndex:
    """A faiss index of one model's vectors, keyed by 63-bit ids."""

    def __init__(self, folder: Path, model_id: str, dim: int, *, exact_max: int = EXACT_MAX, nprobe: int = 0) -> None:
        self.folder = Path(folder)
        self.model_id = model_id
        self.dim = dim
        self.exact_max = exact_max
        self.nprobe = nprobe
        self.dirty = False
        slug = re.sub(r"[^A-Za-z0-9]+", "-", model_id).strip("-").lower()
        self.path = self.folder / f"memory-{slug}.faiss"
        self.meta_path = self.path.with_suffix(".json")
        self.index: Any = self._exact()

    # -- building --------------------------------------------------------------------

    def _exact(self) -> Any:
        import faiss

        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))

    @property
    def kind(self) -> str:
        import faiss

        return "ivf" if isinstance(self.index, faiss.IndexIVF) else "exact"

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def reset(self, ids: Any, vectors: Any) -> None:
        """Replace the contents (a rebuild): exact or IVF depending on the count."""
        import numpy as np

        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        if len(ids) > self.exact_max:
            self.index = self._ivf(vectors)
        else:
            self.index = self._exact()
        if len(ids):
            self.index.add_with_ids(vectors, ids)
        self.dirty = True

    def _ivf(self, sample: Any) -> Any:
        import faiss
        import numpy as np

        # 2*sqrt(n) lists: at 100,000 vectors training takes 5 s against 20 s for 4*sqrt(n), and a search
        # that probes the same share of the vectors costs the same. faiss wants 39 training points per list.
        nlist = max(16, min(int(2 * np.sqrt(len(sample))), len(sample) // 39))
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(0)
        train = sample[rng.choice(len(sample), size=min(len(sample), nlist * 40), replace=False)]
        index.train(train)
        index.nprobe = self._nprobe(nlist)
        return index

    def _nprobe(self, nlist: int) -> int:
        return min(nlist, self.nprobe if self.nprobe > 0 else max(AUTO_NPROBE_MIN, nlist // 8))

    def add(self, ids: Any, vectors: Any) -> None:
        import numpy as np

        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if not len(ids):
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        self.remove(ids)  # re-adding an id replaces it: no duplicates
        if self.kind == "exact" and self.ntotal + len(ids) > self.exact_max:
            all_ids, all_vecs = self.contents()
            self.reset(np.concatenate([all_ids, ids]), np.concatenate([all_vecs, vectors]))
            return
        self.index.add_with_ids(vectors, ids)
        self.dirty = True

    def remove(self, ids: Any) -> int:
        import faiss
        import numpy as np

        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if not len(ids) or not self.ntotal:
            return 0
        removed = int(self.index.remove_ids(faiss.IDSelectorBatch(len(ids), faiss.swig_ptr(ids))))
        self.dirty = self.dirty or removed > 0
        return removed

    def ids(self) -> Any:
        import faiss
        import numpy as np

        if self.kind == "exact":
            return faiss.vector_to_array(self.index.id_map).astype(np.int64)
        inv = self.index.invlists
        parts = [faiss.rev_swig_ptr(inv.get_ids(i), inv.list_size(i)).copy() for i in range(inv.nlist) if inv.list_size(i)]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    def contents(self) -> tuple[Any, Any]:
        """Every (id, vector) in the index."""
        import faiss
        import numpy as np

        ids = self.ids()
        if self.kind == "exact":
            flat = faiss.downcast_index(self.index.index)
            vecs = faiss.rev_swig_ptr(flat.get_xb(), self.ntotal * self.dim).reshape(-1, self.dim).copy()
            return ids, vecs
        self.index.make_direct_map()
        vecs = np.vstack([self.index.reconstruct(int(i)) for i in ids]) if len(ids) else np.zeros((0, self.dim), np.float32)
        return ids, vecs

    # -- searching -------------------------------------------------------------------

    def search(self, query: Any, k: int, allowed: Any = None) -> tuple[Any, Any]:
        """Top ``k`` (scores, ids) for one query vector, optionally only among ``allowed`` ids."""
        import faiss
        import numpy as np

        if not self.ntotal or k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dim)
        params = None
        if allowed is not None:
            allowed = np.ascontiguousarray(allowed, dtype=np.int64)
            if not len(allowed):
                return np.zeros(0, np.float32), np.zeros(0, np.int64)
            sel = faiss.IDSelectorBatch(len(allowed), faiss.swig_ptr(allowed))
            params = faiss.SearchParametersIVF(sel=sel, nprobe=self.index.nprobe) if self.kind == "ivf" else faiss.SearchParameters(sel=sel)
            params._keep = (sel, allowed)  # the selector reads this array; keep it alive for the call
        # One query is too little work to share: OpenMP threads cost more to
        # wake and join than they save, far more on a busy machine.
        before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(1)
        try:
            scores, ids = self.index.search(q, min(k, self.ntotal), params=params)
        finally:
            faiss.omp_set_num_threads(before)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    # -- files -----------------------------------------------------------------------

    def save(self) -> None:
        """Write the index and its sidecar atomically (temporary file, then rename)."""
        import faiss

        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = faiss.serialize_index(self.index).tobytes()
        tmp = self.path.with_suffix(".faiss.partial")
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:  # vectors of client text: private
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        meta = {"model_id": self.model_id, "dim": self.dim, "kind": self.kind, "count": self.ntotal,
                "bytes": len(data), "crc32": zlib.crc32(data)}
        tmp_meta = self.meta_path.with_suffix(".json.partial")
        tmp_meta.write_text(json.dumps(meta), encoding="utf-8")
        os.chmod(tmp_meta, 0o600)
        tmp.replace(self.path)
        tmp_meta.replace(self.meta_path)
        self.dirty = False

    def load(self) -> bool:
        """Read the saved index; False when there is none, IndexFileError when it is unusable."""
        import faiss
        import numpy as np

        if not self.path.exists():
            return False
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
            data = self.path.read_bytes()
        except (OSError, ValueError) as exc:
            raise IndexFileError(f"cannot read {self.meta_path.name}: {exc}") from exc
        if meta.get("bytes") != len(data) or meta.get("crc32") != zlib.crc32(data):
            raise IndexFileError(f"{self.path.name} does not match its checksum (truncated or altered)")
        if meta.get("model_id") != self.model_id or meta.get("dim") != self.dim:
            raise IndexFileError(f"{self.path.name} holds vectors of {meta.get('model_id')}, not {self.model_id}")
        try:
            index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except RuntimeError as exc:
            raise IndexFileError(f"faiss cannot read {self.path.name}: {str(exc).splitlines()[0]}") from exc
        if index.d != self.dim or index.ntotal != meta.get("count"):
            raise IndexFileError(f"{self.path.name} has {index.ntotal} vectors of dimension {index.d}, expected {meta.get('count')} of {self.dim}")
        if isinstance(index, faiss.IndexIVF):
            index.nprobe = self._nprobe(index.nlist)
        self.index = index
        self.dirty = False
        if self.kind == "exact" and self.ntotal > self.exact_max:  # saved before the threshold was lowered
            self.reset(*self.contents())
        return True
