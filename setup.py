"""Package list for setuptools (all metadata is in pyproject.toml).

``widgets/`` and ``pipelines/`` are installed as ``aios_kernel.widgets`` and
``aios_kernel.pipelines`` (see ``package-dir`` in pyproject.toml); automatic
discovery cannot see mapped folders, so they are listed here beside every
package found under ``aios_kernel/``.
"""

from setuptools import find_packages, setup

MAPPED = {"aios_kernel.widgets": "widgets", "aios_kernel.pipelines": "pipelines"}

setup(packages=sorted(find_packages(include=["aios_kernel", "aios_kernel.*"]) + list(MAPPED)))
