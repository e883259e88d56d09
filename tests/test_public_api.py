"""The public surface is deliberate: a change to it shows up here."""

from __future__ import annotations

import aios_kernel


def test_all_is_sorted_and_importable() -> None:
    names = aios_kernel.__all__
    assert names == sorted(names)
    for name in names:
        assert hasattr(aios_kernel, name), name


def test_errors_share_one_root() -> None:
    errors = [getattr(aios_kernel, n) for n in aios_kernel.__all__ if n.endswith("Error")]
    assert errors and all(issubclass(e, aios_kernel.AiosError) for e in errors)


def test_core_names_are_public() -> None:
    for name in ("Workbench", "AiosError", "load_ipython_extension", "unload_ipython_extension", "__version__"):
        assert name in aios_kernel.__all__
