// The memory explorer (widgets/_memory_explorer.py): search with filters, why each memory
// matched, its provenance and version history with diffs, and correct / forget actions.

function whyChips(why) {
  if (!why || typeof why !== "object") return [];
  const chips = [];
  for (const layer of why.layers || []) {
    const score = why[layer];
    chips.push(h("span", { class: "aios-chip", title: `found by the ${layer} layer` },
      layer + (typeof score === "number" ? ` ${aiosNumber(score, 3)}` : "")));
  }
  if (why.time) chips.push(h("span", { class: "aios-chip", title: "date words in the query" }, `time: ${why.time}`));
  if (why.expanded_from) chips.push(h("span", { class: "aios-chip" }, `same episode as ${why.expanded_from}`));
  if (why.prf) chips.push(h("span", { class: "aios-chip", title: "query expanded with its best hits" }, "feedback"));
  if (typeof why.fused === "number") chips.push(h("span", { class: "aios-chip" }, `fused ${aiosNumber(why.fused, 3)}`));
  return chips;
}

function provenance(r) {
  const rows = [
    ["ref", h("code", {}, r.ref)],
    ["tier · kind", `${r.tier} · ${r.kind}`],
    ["source", r.source + (r.source_ref ? `: ${r.source_ref}` : "")],
  ];
  if (r.derived_from && r.derived_from.length) rows.push(["derived from", r.derived_from.join(", ")]);
  if (r.client) rows.push(["client", r.client]);
  if (r.project) rows.push(["project", r.project]);
  if (r.event_time) rows.push(["happened", aiosTime(r.event_time)]);
  rows.push(["recorded", aiosTime(r.created_at) + (r.actor ? ` by ${r.actor}` : "")]);
  if (r.updated_at && r.updated_at !== r.created_at) rows.push(["changed", aiosTime(r.updated_at)]);
  if (r.expires_at) rows.push(["expires", aiosTime(r.expires_at)]);
  if (r.meta && Object.keys(r.meta).length) rows.push(["meta", h("code", {}, JSON.stringify(r.meta))]);
  if (r.sensitive) rows.push(["sensitive", "yes: never sent to a remote model"]);
  if (r.status !== "active") rows.push(["status", `${r.status}${r.status_reason ? ": " + r.status_reason : ""}`]);
  return h("table", { class: "aios-kv" }, rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v))));
}

function diffView(segments) {
  return h("div", { class: "aios-diff" }, segments.map((s) =>
    h("span", { class: `aios-diff-${s.op}` }, s.text)));
}

export default {
  render({ model, el }) {
    const root = aiosRoot(el, "memory");
    const ui = { mode: null, draft: "", reason: "", busy: null, error: null, errorField: null };

    function request(op, args) {
      ui.busy = aiosSend(model, op, args);
      ui.error = null;
      draw();
    }

    function search() {
      const q = root.querySelector(".aios-mem-q");
      const filters = {};
      for (const sel of root.querySelectorAll("[data-filter]")) filters[sel.dataset.filter] = sel.value || "";
      request("search", { query: q ? q.value : "", filters, k: model.get("k") });
    }

    function select(id) {
      ui.mode = null;
      request("select", { id });
    }

    function filterBar() {
      const ch = model.get("choices") || {};
      const f = model.get("filters") || {};
      const menu = (name, label, options) => h("label", { class: "aios-filter" }, h("span", {}, label),
        h("select", { "data-filter": name, "data-focus": `filter-${name}`, "aria-label": label },
          h("option", { value: "" }, "any"),
          options.map((o) => {
            const opt = h("option", { value: o.id ?? o }, o.label ?? o);
            if ((f[name] || "") === (o.id ?? o)) opt.selected = true;
            return opt;
          })));
      const date = (name, label) => h("label", { class: "aios-filter" }, h("span", {}, label),
        h("input", { type: "date", "data-filter": name, "data-focus": `filter-${name}`, value: f[name] || "", "aria-label": label }));
      return h("div", { class: "aios-mem-filters" },
        menu("tier", "tier", ch.tiers || []),
        menu("kind", "kind", ch.kinds || []),
        menu("client", "client", ch.clients || []),
        menu("project", "project", ch.projects || []),
        date("since", "from"), date("until", "before"));
    }

    function resultList() {
      const results = model.get("results") || [];
      const selected = model.get("selected");
      if (!results.length) return h("div", { class: "aios-empty" }, "No memories match. Try other words or fewer filters.");
      const max = Math.max(...results.map((r) => (typeof r.score === "number" ? r.score : 0)), 1e-9);
      return h("ol", { class: "aios-mem-results", role: "listbox", "aria-label": "memories found" }, results.map((r) =>
        h("li", {
          class: `aios-mem-hit${r.id === selected ? " aios-selected" : ""}${r.status !== "active" ? " aios-inactive" : ""}`,
          role: "option", "aria-selected": r.id === selected ? "true" : "false", "data-id": r.id,
          onclick: () => select(r.id),
        },
          h("div", { class: "aios-mem-hit-top" },
            typeof r.score === "number"
              ? h("span", { class: "aios-score", title: `score ${r.score}` },
                h("span", { class: "aios-score-bar", style: `width:${Math.round(100 * Math.max(r.score, 0) / max)}%` }))
              : null,
            h("span", { class: "aios-badge" }, r.tier), h("span", { class: "aios-badge" }, r.kind),
            r.status !== "active" ? h("span", { class: "aios-badge aios-badge-bad" }, r.status) : null,
            r.changed ? h("span", { class: "aios-badge aios-badge-warn", title: "changed since this search" }, r.changed) : null,
            h("span", { class: "aios-muted aios-small" }, aiosTime(r.event_time || r.created_at))),
          h("div", { class: "aios-mem-text" }, r.purged ? "(text purged)" : r.preview + (r.truncated ? " …" : "")),
          h("div", { class: "aios-mem-why" }, whyChips(r.why),
            h("span", { class: "aios-muted aios-small" }, r.source + (r.source_ref ? `: ${r.source_ref}` : ""))))));
    }

    function detailPane() {
      const d = model.get("detail") || {};
      if (!d.record) return h("div", { class: "aios-mem-detail aios-empty" }, d.missing ? "This memory no longer exists." : "Select a memory to see its history.");
      const r = d.record;
      const active = r.status === "active";
      const actions = [];
      const fieldErr = (name) => (ui.error && ui.errorField === name ? h("div", { class: "aios-field-error" }, ui.error) : null);
      if (ui.mode === "correct") {
        actions.push(h("div", { class: "aios-mem-form" },
          h("label", {}, "Corrected text"),
          h("textarea", { class: `aios-mem-edit${ui.errorField === "text" ? " aios-invalid" : ""}`, rows: 5, "data-focus": "edit-text",
            value: ui.draft, oninput: (e) => { ui.draft = e.target.value; } }),
          fieldErr("text"),
          h("label", {}, "Reason (kept with the new version)"),
          h("input", { type: "text", class: `aios-mem-reason${ui.errorField === "reason" ? " aios-invalid" : ""}`, "data-focus": "edit-reason",
            value: ui.reason, placeholder: "e.g. the client corrected the date",
            oninput: (e) => { ui.reason = e.target.value; },
            onkeydown: (e) => { if (e.key === "Enter") request("correct", { id: r.id, text: ui.draft, reason: ui.reason }); } }),
          fieldErr("reason"),
          h("div", { class: "aios-actions" },
            h("button", { class: "aios-btn aios-btn-primary", disabled: !!ui.busy,
              onclick: () => request("correct", { id: r.id, text: ui.draft, reason: ui.reason }) }, "Save new version"),
            h("button", { class: "aios-btn", onclick: () => { ui.mode = null; ui.error = null; draw(); } }, "Cancel"))));
      } else if (ui.mode === "forget") {
        actions.push(h("div", { class: "aios-mem-form" },
          h("label", {}, "Why forget it? (kept in the audit trail; history stays)"),
          h("input", { type: "text", class: `aios-mem-reason${ui.errorField === "reason" ? " aios-invalid" : ""}`, "data-focus": "forget-reason",
            value: ui.reason, placeholder: "e.g. wrong client",
            oninput: (e) => { ui.reason = e.target.value; },
            onkeydown: (e) => { if (e.key === "Enter") request("forget", { id: r.id, reason: ui.reason }); } }),
          fieldErr("reason"),
          h("div", { class: "aios-actions" },
            h("button", { class: "aios-btn aios-btn-danger aios-btn-solid", disabled: !!ui.busy,
              onclick: () => request("forget", { id: r.id, reason: ui.reason }) }, "Forget"),
            h("button", { class: "aios-btn", onclick: () => { ui.mode = null; ui.error = null; draw(); } }, "Cancel"))));
      } else if (active) {
        actions.push(h("div", { class: "aios-actions" },
          h("button", { class: "aios-btn", disabled: r.purged, onclick: () => { ui.mode = "correct"; ui.draft = r.text; ui.reason = ""; ui.error = null; draw(); focusLater(".aios-mem-edit"); } }, "Correct"),
          h("button", { class: "aios-btn aios-btn-danger", onclick: () => { ui.mode = "forget"; ui.reason = ""; ui.error = null; draw(); focusLater(".aios-mem-reason"); } }, "Forget")));
      }
      if (ui.error && !ui.errorField) actions.push(h("div", { class: "aios-field-error", role: "alert" }, ui.error));
      const versions = (d.versions || []).map((v) => h("li", { class: "aios-mem-version" },
        h("div", { class: "aios-mem-version-head" },
          h("b", {}, `v${v.version}`), " ",
          h("span", { class: "aios-muted" }, `${aiosTime(v.at)} · ${v.actor}`),
          v.reason ? h("span", { class: "aios-mem-reason-text" }, ` — ${v.reason}`) : null),
        v.diff && v.diff.length ? diffView(v.diff) : h("div", { class: "aios-mem-text" }, v.purged ? "(text purged)" : v.text)));
      return h("div", { class: "aios-mem-detail" },
        h("div", { class: "aios-mem-fulltext" }, r.purged ? "(text purged)" : r.text),
        actions,
        h("details", { open: true }, h("summary", {}, "Provenance"), provenance(r)),
        h("details", { open: true }, h("summary", {}, `History (${(d.versions || []).length} version${(d.versions || []).length === 1 ? "" : "s"})`),
          h("ol", { class: "aios-mem-versions" }, versions)),
        h("details", {}, h("summary", {}, `Audit trail (${(d.events || []).length} events)`),
          h("table", { class: "aios-table" }, h("tr", {}, h("th", {}, "#"), h("th", {}, "when"), h("th", {}, "event"), h("th", {}, "who"), h("th", {}, "why")),
            (d.events || []).map((e) => h("tr", {}, h("td", {}, e.seq), h("td", {}, aiosTime(e.at)), h("td", {}, e.type), h("td", {}, e.actor), h("td", {}, e.reason || ""))))));
    }

    function focusLater(sel) {
      setTimeout(() => { const n = root.querySelector(sel); if (n) n.focus(); }, 0);
    }

    function draw() {
      aiosRedraw(root, () => {
                const banner = aiosBanner(model);
        if (banner) { aiosFill(root, banner); return; }
        const results = model.get("results") || [];
        aiosFill(root, 
          h("div", { class: "aios-head" },
            h("h3", {}, "Memory"),
            h("span", { class: "aios-muted" }, `${results.length} shown · ${model.get("searched") || ""}`),
            h("span", { class: "aios-spacer" }),
            ui.busy ? h("span", { class: "aios-badge aios-badge-accent" }, "working…") : null,
            model.get("live") ? h("span", { class: "aios-badge aios-badge-ok", title: "follows changes made elsewhere" }, "live") : null),
          h("div", { class: "aios-mem-search" },
            h("input", { type: "search", class: "aios-mem-q", "data-focus": "query", placeholder: "Search memory (empty: newest)",
              value: model.get("query") || "", "aria-label": "search memory",
              onkeydown: (e) => { if (e.key === "Enter") search(); } }),
            h("button", { class: "aios-btn aios-btn-primary", onclick: search, disabled: !!ui.busy }, "Search")),
          filterBar(),
          aiosNotice(model),
          h("div", { class: "aios-mem-body" }, resultList(), detailPane()));
      });
    }

    model.on("change:reply", () => {
      const r = model.get("reply") || {};
      if (!ui.busy || r.nonce !== ui.busy) return;
      ui.busy = null;
      if (r.ok) {
        if (r.op === "correct" || r.op === "forget") ui.mode = null;
        ui.error = null; ui.errorField = null;
      } else {
        ui.error = r.message; ui.errorField = r.field || null;
      }
      draw();
    });
    for (const name of ["results", "detail", "selected", "error", "notice", "choices", "live", "searched"]) {
      model.on(`change:${name}`, draw);
    }
    root.addEventListener("keydown", (e) => {
      if (aiosTyping(e)) return;
      const results = model.get("results") || [];
      const i = results.findIndex((r) => r.id === model.get("selected"));
      if (e.key === "j" || e.key === "ArrowDown") { if (results[i + 1]) select(results[i + 1].id); }
      else if (e.key === "k" || e.key === "ArrowUp") { if (i > 0) select(results[i - 1].id); }
      else if (e.key === "/") { const q = root.querySelector(".aios-mem-q"); if (q) q.focus(); }
      else return;
      e.preventDefault();
      e.stopPropagation();
    });
    draw();
  },
};
