"""The morning summary's lines about work: plans, approvals, side effects, cost."""

from __future__ import annotations

from typing import Any


def execution_lines(wb: Any) -> list[str]:
    """What ran and in which state, what waits for approval, what went out, what it cost."""
    from aios_kernel._observability import model_totals
    from aios_kernel._orchestrator import effect_counts, run_counts

    runs = run_counts(wb.store)
    if not runs:
        return ["  planned: nothing yet (`aios plan daily_ops --run`, or the notebook's planning cells)"]
    lines = ["  planned: " + ", ".join(f"{workflow} {status.replace('_', ' ')}" + (f" ×{n}" if n > 1 else "")
                                       for workflow, status, n in runs)]
    pending = wb.approvals.pending()
    by_action: dict[str, int] = {}
    for a in pending:
        by_action[a.action or a.kind] = by_action.get(a.action or a.kind, 0) + 1
    lines.append(f"  waiting for approval: {len(pending)}"
                 + (f" ({', '.join(f'{n} {k}' for k, n in sorted(by_action.items()))})" if pending else ""))
    rank = {"issue_invoice": 1, "publish_post": 2}
    for a in sorted(pending, key=lambda a: (not a.flagged, rank.get(a.action or "", 3), a.created_at))[:6]:
        flag = " [flagged: prompt injection, never automatic]" if a.flagged else ""
        lines.append(f"    - {a.title}{flag}")
    if len(pending) > 6:
        lines.append(f"    … and {len(pending) - 6} more: `aios approvals`")
    effects = effect_counts(wb.store)
    lines.append(f"  side effects executed: {effects.get('applied', 0)}"
                 + (f", {effects['unknown']} whose outcome you are asked about" if effects.get("unknown") else ""))
    for c in wb.connectors.status():
        lines.append(f"    {c['connector']}: {c['target']}")
    cost = model_totals(wb.store)
    currency = wb.config.get("workspace.currency", "")
    lines.append(f"  cost: {cost['calls']} model calls ({', '.join(f'{t} {n}' for t, n in cost['tiers'].items())}), "
                 f"{cost['tokens']} tokens, {cost['cpu_s']:.1f} CPU-s, {cost['money']:.4f} {currency}")
    return lines
