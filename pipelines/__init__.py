"""Notebooks as workflows: headless papermill runs and the main demo job.

Installed as ``aios_kernel.pipelines``.
"""
