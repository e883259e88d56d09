"""The package's layers import downward only, and the widgets never run work.

Every ``import`` / ``from ... import`` between the folders of ``aios_kernel/``
(with ``widgets/`` and ``pipelines/``), deferred imports included and
``TYPE_CHECKING`` blocks left out, must go from a layer to one below it in
``ORDER``; a cycle between layers is then impossible. docs/ARCHITECTURE.md
draws the same order.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

ORDER = [
    # the foundation: imported by every layer, importing none
    {"errors", "version", "evidence", "limits"},
    # ... and the foundation's converters: ids and times, values crossing the boundary
    {"ids", "values"},
    {"resources", "store"},
    {"workspace"},
    {"observability"},
    {"models"},
    {"inbound"},
    {"entities"},
    {"memory"},
    {"invoices"},
    {"connectors"},
    {"policy"},
    {"agents"},
    {"orchestrator", "scheduler"},
    {"components"},
    {"workbench"},
    # what people use, on top
    {"widgets", "pipelines"},
    {"kernel", "cli"},
    {"main__"},
]
RANK = {layer: rank for rank, layers in enumerate(ORDER) for layer in layers}
ROOTS = {"aios_kernel": REPO / "aios_kernel", "aios_kernel.widgets": REPO / "widgets",
         "aios_kernel.pipelines": REPO / "pipelines"}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "aios_kernel" or len(parts) == 1:
        return None
    if parts[1] in ("widgets", "pipelines"):
        return parts[1]
    return parts[1].lstrip("_") or parts[1]


def _in_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    p = parents.get(node)
    while p is not None:
        if isinstance(p, ast.If) and "TYPE_CHECKING" in ast.unparse(p.test):
            return True
        p = parents.get(p)
    return False


def imports() -> list[tuple[str, str, str]]:
    """(importing layer, imported layer, where) for every import between layers."""
    out = []
    for root_pkg, root in ROOTS.items():
        for path in root.rglob("*.py"):
            rel = path.relative_to(root).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            module = ".".join([root_pkg, *parts])
            src = layer_of(module)
            if src is None:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
            package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    targets = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                    target = ".".join(base + ([node.module] if node.module else [])) if node.level else (node.module or "")
                    targets = [target] + ([f"{target}.{a.name}" for a in node.names] if not node.module or node.level else [])
                else:
                    continue
                if _in_type_checking(node, parents):
                    continue
                for t in targets:
                    dst = layer_of(t)
                    if dst and dst != src:
                        out.append((src, dst, f"{path.relative_to(REPO)}:{node.lineno}"))
    return out


def test_every_layer_is_placed() -> None:
    layers = {src for src, _, _ in imports()} | {dst for _, dst, _ in imports()}
    assert layers <= set(RANK), f"layers missing from ORDER: {sorted(layers - set(RANK))}"


def test_layers_import_only_downward() -> None:
    upward = [f"{where}: {src} imports {dst}" for src, dst, where in imports() if RANK[dst] >= RANK[src]]
    assert not upward, "imports that go up (or sideways) between layers:\n" + "\n".join(sorted(upward))


@pytest.mark.parametrize("path", sorted((REPO / "widgets").glob("*.py")), ids=lambda p: p.name)
def test_widgets_record_decisions_but_never_run_work(path: Path) -> None:
    """A click records; the background worker (or aios resume) runs. No widget runs a task or calls a connector."""
    forbidden = {"run_pending", "resume", "run", "apply", "was_applied", "replay"}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    called = {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)}
    assert not called & forbidden, f"{path.name} calls {sorted(called & forbidden)}"
