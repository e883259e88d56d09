"""A notebook's ``parameters`` cell, and parameters checked against it before any kernel starts.

The cell tagged ``parameters`` (papermill's convention) declares each parameter
as ``name = default`` or ``name: type = default``. A given parameter must be
one of those names, and its value of the default's type (an int is accepted
for a float; ``None`` defaults and annotated ``Any`` accept anything). Text
from the command line (``--param count=3``) is converted to the declared type.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import NotFoundError, ValidationError

_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "list": (list,),
                                       "dict": (dict,)}


@dataclass(frozen=True)
class Parameter:
    """One declared parameter: its name, default and the type a value must have (``None``: any)."""

    name: str
    default: Any
    type: str | None

    def check(self, value: Any, *, field: str) -> Any:
        """``value`` converted (from text) and checked against the declared type."""
        if self.type is None:
            return value
        if isinstance(value, str) and self.type != "str":
            value = _from_text(value, self.type, field)
        ok = isinstance(value, _TYPES[self.type]) and not (isinstance(value, bool) and self.type != "bool")
        if not ok:
            raise ValidationError(f"{field} must be {self.type} (the notebook's parameters cell declares "
                                  f"{self.name} = {self.default!r}), got {type(value).__name__} {value!r}", field=field)
        return float(value) if self.type == "float" else value


def _from_text(text: str, type_: str, field: str) -> Any:
    try:
        if type_ == "bool":
            low = text.strip().lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no"):
                return False
            raise ValueError(text)
        if type_ == "int":
            return int(text)
        if type_ == "float":
            return float(text)
        return json.loads(text)
    except ValueError:
        raise ValidationError(f"{field} must be {type_}, got the text {text!r}"
                              + ("; write it as JSON" if type_ in ("list", "dict") else ""), field=field) from None


def resolve_notebook(notebook: str | Path, notebooks_dir: Path | None = None, *, field: str = "notebook") -> Path:
    """The notebook file: a path, or a name under the shipped ``notebooks/`` folder."""
    p = Path(notebook).expanduser()
    candidates = [p] if p.is_absolute() else [p, *([notebooks_dir / p] if notebooks_dir else [])]
    for c in candidates:
        if c.is_file():
            if c.suffix != ".ipynb":
                raise ValidationError(f"{field} {str(notebook)!r} is not a notebook (.ipynb)", field=field)
            return c.resolve()
    known = sorted(x.name for x in notebooks_dir.glob("*.ipynb")) if notebooks_dir and notebooks_dir.is_dir() else []
    raise NotFoundError(f"{field} {str(notebook)!r} does not exist" + (f"; notebooks shipped: {', '.join(known)}" if known else "")
                        + "; give a path to an .ipynb file", id=str(notebook))


def declared(path: Path) -> dict[str, Parameter] | None:
    """The parameters declared in ``path``'s ``parameters`` cell (``None``: the notebook has no such cell)."""
    try:
        nb = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValidationError(f"notebook {path} cannot be read as a notebook ({exc}); save it again from Jupyter",
                              field="notebook") from exc
    cell = next((c for c in nb.get("cells", []) if c.get("cell_type") == "code"
                 and "parameters" in (c.get("metadata", {}).get("tags") or [])), None)
    if cell is None:
        return None
    source = "".join(cell.get("source", [])) if isinstance(cell.get("source"), list) else str(cell.get("source", ""))
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ValidationError(f"the parameters cell of {path.name} is not valid Python ({exc.msg}, line {exc.lineno})",
                              field="notebook") from None
    out: dict[str, Parameter] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value, ann = node.targets[0].id, node.value, None
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name, value, ann = node.target.id, node.value, ast.unparse(node.annotation)
        else:
            continue
        try:
            default = ast.literal_eval(value) if value is not None else None
        except ValueError:
            default = None
        type_ = ann if ann in _TYPES else (None if ann else _type_of(default))
        out[name] = Parameter(name, default, type_)
    return out


def _type_of(value: Any) -> str | None:
    for name in ("bool", "int", "float", "str", "list", "dict"):
        if type(value) is _TYPES[name][-1]:
            return name
    return None


def check_parameters(path: Path, given: dict[str, Any], *, field: str = "parameters", implicit: tuple[str, ...] = ("workspace",)
                     ) -> dict[str, Any]:
    """``given`` checked against ``path``'s parameters cell and converted; the error names ``field.NAME`` and the fix.

    Names in ``implicit`` (the workspace, filled in by the runner) are passed only when declared.
    """
    decl = declared(path)
    out: dict[str, Any] = {}
    for name, value in given.items():
        f = f"{field}.{name}"
        if decl is None:
            raise ValidationError(f"{f}: {path.name} has no cell tagged 'parameters'; add one declaring {name} = <default>, "
                                  "or drop the parameter", field=f)
        if name not in decl:
            known = ", ".join(n for n in decl if n not in implicit) or "none"
            raise ValidationError(f"{f} is not in {path.name}'s parameters cell (declared: {known}); fix the name or "
                                  "declare it there", field=f)
        out[name] = decl[name].check(value, field=f)
    try:
        json.dumps(out, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{field} must be plain JSON values ({exc})", field=field) from None
    return out
