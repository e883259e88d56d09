// The cost meter and run board (widgets/_costs.py): today's spending against the daily
// budget, each workflow's costliest run against its per-run budget, spending per day, and
// the runs by status.

const MEASURE_LABEL = { tokens: "tokens", seconds: "CPU-seconds", money: "money" };

function meter(label, used, limit, digits) {
  const share = limit ? used / limit : 0;
  const cls = share >= 1 ? "aios-meter-bad" : share >= 0.7 ? "aios-meter-warn" : "aios-meter-ok";
  return h("div", { class: "aios-meter", title: `${aiosNumber(used, digits)} of ${aiosNumber(limit, digits)} (${Math.round(share * 100)}%)` },
    h("div", { class: "aios-meter-label" }, h("span", {}, label),
      h("span", { class: "aios-muted" }, `${aiosNumber(used, digits)} / ${limit ? aiosNumber(limit, digits) : "no limit"}`)),
    h("div", { class: "aios-meter-track" }, h("span", { class: `aios-meter-fill ${cls}`, style: `width:${Math.min(100, share * 100)}%` })));
}

function statusBadge(s) {
  return h("span", { class: `aios-badge aios-run-${s}` }, s.replace("_", " "));
}

export default {
  render({ model, el }) {
    const root = aiosRoot(el, "costs");

    function draw() {
      aiosRedraw(root, () => {
                const banner = aiosBanner(model);
        if (banner) { aiosFill(root, h("div", { class: "aios-head" }, h("h3", {}, "Costs and runs")), banner); return; }
        const d = model.get("data") || {};
        const today = d.today || {};
        const budget = d.day_budget || {};
        const status = d.runs_by_status || {};
        const wfs = d.by_workflow || [];
        const days = (d.by_day || []).slice(-14);
        aiosFill(root, 
          h("div", { class: "aios-head" }, h("h3", {}, "Costs and runs"),
            h("span", { class: "aios-muted" }, `${d.total_runs || 0} runs`), h("span", { class: "aios-spacer" }),
            model.get("live") ? h("span", { class: "aios-badge aios-badge-ok" }, "live") : null),
          h("div", { class: "aios-cost-grid" },
            h("section", {}, h("div", { class: "aios-section-title" }, "Today against the daily budget"),
              meter(MEASURE_LABEL.tokens, today.tokens || 0, budget.tokens, 0),
              meter(MEASURE_LABEL.seconds, today.seconds || 0, budget.seconds, 2),
              meter(MEASURE_LABEL.money, today.money || 0, budget.money, 4),
              h("div", { class: "aios-small aios-muted aios-connector-today" },
                `connector calls today: ${aiosNumber(today.connector_calls || 0)} (money ${aiosNumber(today.connector_money || 0, 4)})`)),
            h("section", {}, h("div", { class: "aios-section-title" }, "Runs by status"),
              h("div", { class: "aios-status-board" }, Object.entries(status).filter(([, n]) => n).map(([s, n]) =>
                h("div", { class: "aios-status-cell", "data-status": s }, h("b", {}, String(n)), statusBadge(s)))))),
          h("div", { class: "aios-section-title" }, "Per workflow (costliest run against the per-run budget)"),
          h("table", { class: "aios-table" },
            h("tr", {}, h("th", {}, "workflow"), h("th", { class: "aios-num" }, "runs"), h("th", { class: "aios-num" }, "model calls"),
              h("th", { class: "aios-num" }, "tokens"), h("th", { class: "aios-num" }, "CPU-s"), h("th", { class: "aios-num" }, "money"),
              h("th", { class: "aios-num" }, "connector calls"), h("th", { class: "aios-num" }, "connector money"),
              h("th", {}, "costliest run / budget")),
            wfs.map((w) => h("tr", {}, h("td", {}, w.workflow), h("td", { class: "aios-num" }, w.runs), h("td", { class: "aios-num" }, w.calls),
              h("td", { class: "aios-num" }, aiosNumber(w.tokens)), h("td", { class: "aios-num" }, aiosNumber(w.seconds, 2)),
              h("td", { class: "aios-num" }, aiosNumber(w.money, 4)),
              h("td", { class: "aios-num" }, aiosNumber(w.connector_calls || 0)), h("td", { class: "aios-num" }, aiosNumber(w.connector_money || 0, 4)),
              h("td", {}, h("div", { class: "aios-meter-track aios-meter-inline", title: `${Math.round(100 * (w.max_share || 0))}% of the per-run budget` },
                h("span", { class: `aios-meter-fill ${(w.max_share || 0) >= 1 ? "aios-meter-bad" : (w.max_share || 0) >= 0.7 ? "aios-meter-warn" : "aios-meter-ok"}`,
                  style: `width:${Math.min(100, 100 * (w.max_share || 0))}%` })),
                h("span", { class: "aios-small aios-muted" }, ` ${Math.round(100 * (w.max_share || 0))}%`))))),
          days.length ? h("div", { class: "aios-section-title" }, "Per day") : null,
          days.length ? h("table", { class: "aios-table" },
            h("tr", {}, h("th", {}, "day"), h("th", { class: "aios-num" }, "tokens"), h("th", { class: "aios-num" }, "CPU-s"),
              h("th", { class: "aios-num" }, "money"), h("th", { class: "aios-num" }, "connector calls"),
              h("th", { class: "aios-num" }, "connector money"), h("th", {}, "of the daily budget")),
            days.map((x) => {
              const share = Math.max(budget.tokens ? x.tokens / budget.tokens : 0, budget.seconds ? x.seconds / budget.seconds : 0,
                budget.money ? x.money / budget.money : 0);
              return h("tr", {}, h("td", { class: "aios-nowrap" }, x.day), h("td", { class: "aios-num" }, aiosNumber(x.tokens)),
                h("td", { class: "aios-num" }, aiosNumber(x.seconds, 2)), h("td", { class: "aios-num" }, aiosNumber(x.money, 4)),
                h("td", { class: "aios-num" }, aiosNumber(x.connector_calls || 0)), h("td", { class: "aios-num" }, aiosNumber(x.connector_money || 0, 4)),
                h("td", {}, h("div", { class: "aios-meter-track aios-meter-inline" },
                  h("span", { class: `aios-meter-fill ${share >= 1 ? "aios-meter-bad" : share >= 0.7 ? "aios-meter-warn" : "aios-meter-ok"}`,
                    style: `width:${Math.min(100, 100 * share)}%` })), h("span", { class: "aios-small aios-muted" }, ` ${Math.round(100 * share)}%`)));
            })) : null,
          h("div", { class: "aios-section-title" }, "Recent runs"),
          h("table", { class: "aios-table aios-runs" },
            h("tr", {}, h("th", {}, "run"), h("th", {}, "workflow"), h("th", {}, "status"), h("th", {}, "started"),
              h("th", { class: "aios-num" }, "tokens"), h("th", { class: "aios-num" }, "CPU-s"), h("th", {}, "error")),
            (d.recent_runs || []).map((r) => h("tr", { "data-status": r.status }, h("td", {}, h("code", {}, r.id)), h("td", {}, r.workflow),
              h("td", {}, statusBadge(r.status)), h("td", { class: "aios-nowrap" }, aiosTime(r.created_at)), h("td", { class: "aios-num" }, aiosNumber(r.tokens)),
              h("td", { class: "aios-num" }, aiosNumber(r.seconds, 2)), h("td", { class: "aios-run-error", title: r.error || "" }, r.error || "")))));
      });
    }
    for (const name of ["data", "error", "live"]) model.on(`change:${name}`, draw);
    draw();
  },
};
