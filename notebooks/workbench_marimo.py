import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import os

    import marimo as mo

    import aios_kernel

    wb = aios_kernel.Workbench.open(os.environ.get("AIOS_WORKSPACE") or None)
    wb.worker.start()  # carries runs on after a decision in the inbox below (the click only records it)
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


@app.cell
def _(mo, wb):
    from aios_kernel.widgets import ApprovalInbox

    # Wrapped in mo.ui.anywidget so that a decision (a change of the widget's state)
    # re-runs the cells that read `inbox.value`.
    inbox = mo.ui.anywidget(ApprovalInbox(wb))
    mo.vstack([mo.md("## Approval inbox"), inbox])
    return (inbox,)


@app.cell
def _(inbox, mo):
    import html

    # Re-runs after every decision taken in the inbox above.
    _state = inbox.value
    _last = _state.get("last_decision") or {}
    if _last:
        _what = {"approve": "approved", "reject": "rejected", "choose": f"chose {_last.get('choice')}"}.get(
            _last.get("decision"), _last.get("decision"))
        _line = (f"Last decision: <b>{html.escape(str(_what))}</b> “{html.escape(str(_last.get('title')))}” "
                 f"by {html.escape(str(_last.get('by')))} at {html.escape(str(_last.get('at'))[:19])}")
        if _last.get("reason"):
            _line += f" ({html.escape(_last['reason'])})"
    else:
        _line = "No decision yet."
    decisions = mo.Html(
        f"<div class='aios-decisions'><b class='aios-pending'>{_state.get('pending_count', 0)} pending</b> · "
        f"{_state.get('deferred_count', 0)} deferred<br><span class='aios-last'>{_line}</span></div>")
    decisions
    return (decisions,)


@app.cell
def _(mo, wb):
    from aios_kernel.widgets import MemoryExplorer

    explorer = mo.ui.anywidget(MemoryExplorer(wb))
    mo.vstack([mo.md("## Memory"), explorer])
    return (explorer,)


if __name__ == "__main__":
    app.run()
