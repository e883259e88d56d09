import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import os

    import marimo as mo

    import aios_kernel

    wb = aios_kernel.Workbench.open(os.environ.get("AIOS_WORKSPACE") or None)
    return mo, wb


@app.cell
def _(mo, wb):
    status = wb.status()
    mo.md(f"# {status.name}\n\n{status.events} events in the store.")
    return (status,)


@app.cell
def _(mo, wb):
    projects = wb.frame("projects").select("code", "name", "status", "budget_hours")
    mo.ui.table(projects)
    return (projects,)


if __name__ == "__main__":
    app.run()
