"""The inbound package stays a leaf: it imports only errors, ids and models from the project, nothing heavy at import."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import aios_kernel._inbound as inbound

PACKAGE = Path(inbound.__file__).parent
ALLOWED = {"_errors", "_ids", "_models"}
HEAVY = {"torch", "transformers", "numpy", "sentence_transformers", "faiss", "dask", "polars", "pandas"}


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """``(module, level, top_level)`` of every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            out.append((node.module or "", node.level, id(node) in top))
        elif isinstance(node, ast.Import):
            out.extend((a.name, 0, id(node) in top) for a in node.names)
    return out


def test_only_errors_ids_and_models_are_imported_from_the_project() -> None:
    for path in PACKAGE.glob("*.py"):
        for module, level, _ in _imports(path):
            if level == 2 or module.startswith("aios_kernel."):
                first = module.split(".")[0] if level == 2 else module.split(".")[1]
                assert first in ALLOWED, f"{path.name} imports {module!r}"


def test_heavy_libraries_are_imported_inside_functions() -> None:
    for path in PACKAGE.glob("*.py"):
        for module, level, top in _imports(path):
            if top and level == 0:
                assert module.split(".")[0] not in HEAVY, f"{path.name} imports {module} at module level"


def test_importing_the_package_loads_no_model() -> None:
    code = ("import sys, aios_kernel._inbound as i; i.canonicalise('<p>x</p>', content_type='text/html'); "
            "print(sorted(m for m in ('torch', 'transformers', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_public_api_is_sorted_and_complete() -> None:
    assert inbound.__all__ == sorted(inbound.__all__)
    assert all(hasattr(inbound, name) for name in inbound.__all__)
