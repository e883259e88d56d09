// The trace timeline (widgets/_trace.py): one row per span (run, task, step, model call,
// connector call), a bar from start to end coloured by status; hover for a summary, click for
// inputs, outputs, tokens and cost. Failed and compensated spans are marked at a glance.

const KIND_MARK = { run: "RUN", task: "TASK", step: "STEP", model: "LLM", connector: "I/O" };

function statusClass(s) {
  return `aios-st-${String(s || "unknown").replace(/[^a-z_]/gi, "")}`;
}

function fmtS(x) {
  if (x === null || x === undefined) return "";
  if (x < 0.001) return `${(x * 1e6).toFixed(0)} µs`;
  if (x < 1) return `${(x * 1000).toFixed(1)} ms`;
  return `${x.toFixed(2)} s`;
}

function jsonBlock(v) {
  return h("pre", { class: "aios-json" }, JSON.stringify(v, null, 2));
}

export default {
  render({ model, el }) {
    const root = aiosRoot(el, "trace");

    function select(id) {
      aiosSend(model, "select", { span_id: id });
    }

    function tooltip(s) {
      const parts = [`${s.kind} ${s.name}`, `status: ${s.status}`, `${fmtS(s.start)} → ${s.open ? "…" : fmtS(s.end)} (${fmtS(s.duration)})`];
      if (s.agent) parts.push(`agent: ${s.agent}${s.agent_version ? "@" + s.agent_version : ""}`);
      if (s.tokens_in || s.tokens_out) parts.push(`tokens: ${s.tokens_in} in / ${s.tokens_out} out`);
      if (s.cost) parts.push(`cost: ${s.cost}`);
      if (s.attrs && s.attrs.error) parts.push(`error: ${s.attrs.error}`);
      return parts.join("\n");
    }

    function timeline() {
      const spans = model.get("spans") || [];
      const total = Math.max(...spans.map((s) => s.end), 1e-6);
      const sel = model.get("selected");
      const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => h("span", { class: "aios-tick", style: `left:${f * 100}%` }, fmtS(f * total)));
      return h("div", { class: "aios-tl" },
        h("div", { class: "aios-tl-row aios-tl-axis" }, h("div", { class: "aios-tl-label" }, ""), h("div", { class: "aios-tl-track" }, ticks)),
        spans.map((s) => {
          const left = (100 * s.start) / total;
          const width = Math.max((100 * (s.end - s.start)) / total, 0.4);
          const bad = s.status === "error" || s.status === "failed";
          return h("div", {
            class: `aios-tl-row${s.id === sel ? " aios-selected" : ""}${bad ? " aios-tl-bad" : ""}`, "data-id": s.id,
            "data-status": s.status, "data-kind": s.kind, title: tooltip(s), onclick: () => select(s.id),
          },
            h("div", { class: "aios-tl-label", style: `padding-left:${4 + 12 * s.depth}px` },
              h("span", { class: `aios-kind aios-kind-${s.kind}` }, KIND_MARK[s.kind] || s.kind),
              bad ? h("span", { class: "aios-mark-bad", "aria-label": "failed" }, "✗") : null,
              s.status === "compensated" ? h("span", { class: "aios-mark-comp", "aria-label": "compensated" }, "↶") : null,
              h("span", { class: "aios-tl-name" }, s.name)),
            h("div", { class: "aios-tl-track" },
              h("span", { class: `aios-bar ${statusClass(s.status)}${s.open ? " aios-bar-open" : ""}`, style: `left:${left}%;width:${width}%` })));
        }));
    }

    function detail() {
      const d = model.get("detail") || {};
      if (!d.span) return h("div", { class: "aios-tl-detail aios-empty" }, "Click a span to see its inputs, outputs, tokens and cost.");
      const s = d.span;
      const rows = [["kind", s.kind], ["status", h("span", { class: `aios-badge aios-status-badge ${statusClass(s.status)}` }, s.status)],
        ["started", aiosTime(s.start_at)], ["took", s.open ? `${fmtS(s.duration)} so far` : fmtS(s.duration)],
        ["agent", s.agent ? `${s.agent}${s.agent_version ? "@" + s.agent_version : ""}` : ""], ["tier", s.tier || ""],
        ["tokens", s.tokens_in || s.tokens_out ? `${s.tokens_in} in · ${s.tokens_out} out` : ""],
        ["CPU-s", s.cpu_s ? aiosNumber(s.cpu_s, 4) : ""], ["cost", s.cost ? aiosNumber(s.cost, 6) : ""]];
      const ref = (label, r) => r ? h("details", { open: true }, h("summary", {}, `${label}: `, h("code", {}, r.ref), r.what ? ` (${r.what})` : ""),
        r.missing ? h("div", { class: "aios-muted" }, "not recorded") : jsonBlock(Object.fromEntries(Object.entries(r).filter(([k]) => k !== "ref" && k !== "what")))) : null;
      return h("div", { class: "aios-tl-detail" },
        h("h4", {}, s.name),
        h("table", { class: "aios-kv" }, rows.filter((r) => r[1] !== "").map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v)))),
        s.attrs && s.attrs.error ? h("div", { class: "aios-field-error" }, s.attrs.error) : null,
        s.attrs && Object.keys(s.attrs).length ? h("details", {}, h("summary", {}, "attributes"), jsonBlock(s.attrs)) : null,
        ref("input", d.input), ref("output", d.output));
    }

    function summary() {
      const r = model.get("run") || {};
      const tot = model.get("totals") || {};
      const chips = [
        h("span", { class: `aios-badge aios-status-badge ${statusClass(r.status)}` }, r.status || "?"),
        h("span", { class: "aios-muted" }, `${tot.spans || 0} spans · ${fmtS(tot.span_s || 0)} · ${tot.model_calls || 0} model calls · ${aiosNumber(tot.tokens || 0)} tokens · cost ${aiosNumber(tot.cost || 0, 6)}`),
      ];
      if (tot.failed) chips.push(h("span", { class: "aios-badge aios-badge-bad" }, `✗ ${tot.failed} failed`));
      if (tot.compensated) chips.push(h("span", { class: "aios-badge aios-badge-warn" }, `↶ ${tot.compensated} compensated`));
      if (tot.waiting) chips.push(h("span", { class: "aios-badge aios-badge-accent" }, `${tot.waiting} waiting for approval`));
      return h("div", { class: "aios-tl-summary" }, chips, r.error ? h("div", { class: "aios-field-error" }, r.error) : null);
    }

    function picker() {
      const runs = model.get("runs") || [];
      const current = model.get("run_id");
      const sel = h("select", { "aria-label": "run", "data-focus": "run-picker",
        onchange: (e) => aiosSend(model, "select_run", { run_id: e.target.value }) },
        runs.map((r) => {
          const o = h("option", { value: r.id }, `${r.workflow} · ${r.status} · ${aiosTime(r.created_at)} · ${r.id}`);
          if (r.id === current) o.selected = true;
          return o;
        }));
      return sel;
    }

    function legend() {
      return h("div", { class: "aios-tl-legend aios-small aios-muted" },
        ["ok", "running", "waiting", "error", "compensated", "simulated", "skipped", "rejected"].map((s) =>
          h("span", {}, h("span", { class: `aios-swatch ${statusClass(s)}` }), s)));
    }

    function draw() {
      aiosRedraw(root, () => {
                const banner = aiosBanner(model);
        if (banner) { aiosFill(root, h("div", { class: "aios-head" }, h("h3", {}, "Trace")), banner); return; }
        if (!model.get("run_id")) {
          aiosFill(root, h("div", { class: "aios-head" }, h("h3", {}, "Trace")), aiosNotice(model),
            h("div", { class: "aios-empty" }, "No runs yet: wb.submit(WORKFLOW, params) then wb.run_pending()."));
          return;
        }
        const r = model.get("run") || {};
        aiosFill(root, 
          h("div", { class: "aios-head" }, h("h3", {}, `Trace · ${r.workflow || ""}`), h("span", { class: "aios-spacer" }), picker(),
            model.get("live") ? h("span", { class: "aios-badge aios-badge-ok" }, "live") : null),
          summary(), aiosNotice(model), legend(),
          h("div", { class: "aios-tl-body" }, timeline(), detail()));
      });
    }

    for (const name of ["spans", "run", "totals", "runs", "detail", "selected", "error", "notice", "live", "run_id"]) {
      model.on(`change:${name}`, draw);
    }
    root.addEventListener("keydown", (e) => {
      if (aiosTyping(e)) return;
      const spans = model.get("spans") || [];
      const i = spans.findIndex((s) => s.id === model.get("selected"));
      if (e.key === "j" || e.key === "ArrowDown") { if (spans[i + 1]) select(spans[i + 1].id); }
      else if (e.key === "k" || e.key === "ArrowUp") { if (i > 0) select(spans[i - 1].id); }
      else return;
      e.preventDefault();
      e.stopPropagation();
    });
    draw();
  },
};
