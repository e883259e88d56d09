"""The folders the package ships beside its code: the demo business (``data/``) and the notebooks.

In a checkout they are the repository's top-level ``data/`` and
``notebooks/``; an installed wheel carries them as the package resources
``aios_kernel.data`` and ``aios_kernel.notebooks`` (see ``package-dir`` in
pyproject.toml). Either way this is the one place that finds them.
"""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

from ._errors import WorkspaceError

SHIPPED = ("data", "notebooks")


def shipped(name: str) -> Path:
    """The folder ``data`` or ``notebooks`` as installed (or in this checkout)."""
    if name not in SHIPPED:
        raise ValueError(f"no shipped folder {name!r}; one of {', '.join(SHIPPED)}")
    with as_file(files("aios_kernel") / name) as installed:  # a folder on disk for any normal install
        if installed.is_dir():
            return Path(installed)
    checkout = Path(__file__).resolve().parent.parent / name  # an editable install maps it to the repository
    if checkout.is_dir():
        return checkout
    raise WorkspaceError(f"the {name}/ folder that ships with aios-workbench is missing; reinstall the package "
                         "(pip install aios-workbench) or run from a complete checkout")


def notebooks_dir() -> Path:
    """The operator's notebooks (``daily_ops.ipynb`` and the others)."""
    return shipped("notebooks")


def bundled_data_dir() -> Path:
    """The demo business (Lindgren Advisory): what ``aios init --demo`` ingests."""
    return shipped("data")
