"""The morning summary's lines about work: plans, approvals, side effects, cost."""

from __future__ import annotations

from typing import Any


def execution_lines(wb: Any) -> list[str]:
    """What ran and in which state, what waits for approval, what it cost."""
    store = wb.store
    runs = store.query("SELECT workflow, status, count(*) AS n FROM runs WHERE mode='live' GROUP BY 1, 2 ORDER BY 1, 2")
    if not runs:
        return ["  planned: nothing yet (`aios plan daily_ops --run`, or the notebook's planning cells)"]
    lines = ["  planned: " + ", ".join(f"{r['workflow']} {r['status'].replace('_', ' ')}" + (f" ×{r['n']}" if r["n"] > 1 else "")
                                       for r in runs)]
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
    done = store.scalar("SELECT count(*) FROM outbox WHERE status='applied'")
    lines.append(f"  side effects executed: {done} (ledger: {wb.config.get('connectors.ledger.path', 'ledger.jsonl')})")
    cost = store.one("SELECT count(*) AS calls, coalesce(sum(tokens_in + tokens_out), 0) AS tokens, coalesce(sum(cpu_s), 0) AS cpu,"
                     " coalesce(sum(cost), 0) AS money FROM spans WHERE kind='model'")
    tiers = store.query("SELECT tier, count(*) AS n FROM spans WHERE kind='model' GROUP BY 1 ORDER BY 1")
    currency = wb.config.get("workspace.currency", "")
    lines.append(f"  cost: {cost['calls']} model calls ({', '.join(f'{t[0]} {t[1]}' for t in tiers)}), {cost['tokens']} tokens, "
                 f"{cost['cpu']:.1f} CPU-s, {cost['money']:.4f} {currency}")
    return lines
