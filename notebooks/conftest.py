"""For `pytest --nbval-lax notebooks/`: every notebook runs against a fresh demo workspace."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_TMP = tempfile.TemporaryDirectory(prefix="aios-nbval-")


def pytest_configure(config) -> None:  # noqa: ANN001
    if os.environ.get("AIOS_NBVAL_WORKSPACE"):
        os.environ["AIOS_WORKSPACE"] = os.environ["AIOS_NBVAL_WORKSPACE"]
        return
    from aios_kernel import Workbench

    root = Path(_TMP.name) / "ws"
    Workbench.init(root, demo=True).close()
    # The kernels nbval starts inherit this environment.
    os.environ["AIOS_WORKSPACE"] = str(root)


def pytest_unconfigure(config) -> None:  # noqa: ANN001
    _TMP.cleanup()
