"""Package list for setuptools (all metadata is in pyproject.toml).

``widgets/`` and ``pipelines/`` are installed as ``aios_kernel.widgets`` and
``aios_kernel.pipelines``, and the demo business ``data/`` and the
``notebooks/`` as the resource folders ``aios_kernel.data`` and
``aios_kernel.notebooks`` (see ``package-dir`` in pyproject.toml); automatic
discovery cannot see mapped folders, so they are listed here beside every
package found under ``aios_kernel/``.
"""

from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

MAPPED = {"aios_kernel.widgets": "widgets", "aios_kernel.pipelines": "pipelines", "aios_kernel.data": "data",
          "aios_kernel.notebooks": "notebooks"}



class BuildPy(build_py):
    """Leaves out ``notebooks/conftest.py``: it sets up the notebook tests of a checkout, not a feature."""

    def run(self) -> None:
        super().run()
        (Path(self.build_lib) / "aios_kernel" / "notebooks" / "conftest.py").unlink(missing_ok=True)


setup(packages=sorted(find_packages(include=["aios_kernel", "aios_kernel.*"]) + list(MAPPED)), cmdclass={"build_py": BuildPy})
