// The approval inbox (widgets/_inbox.py): one card per decision waiting for a person, showing
// what will happen (rendered), why, the evidence, the cost so far, and the actions.
// Keys: j/k move, a approve, e edit, r reject, d defer, 1-9 pick an option, Esc cancel.

const FORMAT_LABEL = {
  email: "E-mail", invoice: "Invoice", post: "Post", calendar: "Calendar", quarantine: "Quarantine",
  budget: "Budget", generic: "Action",
};

function kv(rows) {
  return h("table", { class: "aios-kv" }, rows.filter((r) => r && r[1] !== undefined && r[1] !== null && r[1] !== "")
    .map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v))));
}

function plain(v) {
  if (v === null || v === undefined) return "";
  if (Array.isArray(v)) return v.every((x) => typeof x !== "object") ? v.join(", ") : JSON.stringify(v, null, 2);
  if (typeof v === "object") return JSON.stringify(v, null, 2);
  return String(v);
}

function rest(payload, shown) {
  const extra = Object.keys(payload || {}).filter((k) => !shown.includes(k));
  if (!extra.length) return null;
  return kv(extra.map((k) => [k.replace(/_/g, " "), h("span", { class: "aios-pre" }, plain(payload[k]))]));
}

function whatEmail(p) {
  return h("div", { class: "aios-what aios-what-email" },
    kv([["To", plain(p.to)], ["Cc", plain(p.cc)], ["Subject", h("b", {}, plain(p.subject))],
      ["In reply to", p.in_reply_to ? h("code", {}, plain(p.in_reply_to)) : null],
      ["Attachments", Array.isArray(p.attachments) && p.attachments.length ? h("span", {}, p.attachments.map((a) =>
        h("span", { class: "aios-badge" }, plain(typeof a === "string" ? a : a.path)))) : null]]),
    h("div", { class: "aios-paper" }, plain(p.body)),
    rest(p, ["to", "cc", "subject", "body", "in_reply_to", "attachments"]));
}

function whatInvoice(p) {
  const lines = Array.isArray(p.lines) ? p.lines : [];
  const table = h("table", { class: "aios-table aios-invoice-lines" },
    h("tr", {}, h("th", {}, "Date"), h("th", {}, "Activity"), h("th", { class: "aios-num" }, "Hours"),
      h("th", { class: "aios-num" }, "Rate"), h("th", { class: "aios-num" }, "Amount")),
    lines.map((l) => h("tr", {}, h("td", {}, plain(l.date)), h("td", {}, plain(l.description)),
      h("td", { class: "aios-num" }, plain(l.hours)), h("td", { class: "aios-num" }, aiosMoney(l.rate)),
      h("td", { class: "aios-num" }, aiosMoney(l.amount)))),
    p.net !== undefined ? h("tr", {}, h("td", { colspan: "4" }, "Net"), h("td", { class: "aios-num" }, aiosMoney(p.net, p.currency))) : null,
    p.vat !== undefined ? h("tr", {}, h("td", { colspan: "4" }, `VAT${p.tax && p.tax.category ? ` (${p.tax.category} ${p.tax.rate}%)` : ""}`),
      h("td", { class: "aios-num" }, aiosMoney(p.vat, p.currency))) : null,
    h("tr", { class: "aios-total" }, h("td", { colspan: "4" }, "Total"),
      h("td", { class: "aios-num" }, aiosMoney(p.total, p.currency))));
  const number = p.number ? h("b", {}, plain(p.number)) : h("span", {}, h("b", {}, plain(p.ref)), " (draft: numbered when issued)");
  return h("div", { class: "aios-what aios-what-invoice" },
    kv([["Invoice", number], ["Bill to", plain(p.client)], ["Send to", plain(p.to)],
      ["Project", plain(p.project)], ["Period", plain(p.period)], ["Due", plain(p.due_date)],
      ["VAT note", p.tax && p.tax.note ? plain(p.tax.note) : null]]),
    table,
    p.document ? h("details", { class: "aios-doc" }, h("summary", {}, "The document as it will be sent"),
      h("div", { class: "aios-paper aios-mono" }, plain(p.document))) : null,
    rest(p, ["number", "ref", "client", "client_id", "to", "project", "project_name", "period", "month", "due_date", "lines",
      "net", "vat", "tax", "total", "currency", "document", "buyer", "issue_date", "po"]));
}

function whatPost(p) {
  return h("div", { class: "aios-what aios-what-post" },
    kv([["Channel", plain(p.channel)], ["Title", h("b", {}, plain(p.title))]]),
    h("div", { class: "aios-paper" }, plain(p.body ?? p.text)),
    rest(p, ["channel", "title", "body", "text"]));
}

function whatCalendar(p) {
  const shown = ["title", "summary", "start", "end", "when", "location", "attendees", "old_start", "previous",
    "description", "tentative", "only_if_free"];
  const status = [p.tentative ? "tentative: held until they confirm" : "",
    p.only_if_free ? "not booked if the time was taken meanwhile" : ""].filter(Boolean).join("; ");
  return h("div", { class: "aios-what aios-what-calendar" },
    kv([["Event", h("b", {}, plain(p.title ?? p.summary))], ["Was", plain(p.old_start ?? p.previous)],
      ["When", plain(p.start ?? p.when) + (p.end ? ` – ${plain(p.end)}` : "")], ["Where", plain(p.location)],
      ["Attendees", plain(p.attendees)], ["Status", status], ["Notes", plain(p.description)]]),
    rest(p, shown));
}

function whatQuarantine(p) {
  return h("div", { class: "aios-what aios-what-quarantine" },
    h("div", { class: "aios-flagged" }, h("b", {}, "Flagged inbound message. "),
      `Flags: ${plain(p.flags) || "none"}. Approving moves it to quarantine; nothing in it is acted on.`),
    kv([["From", plain(p.from)], ["Subject", plain(p.subject)], ["Why", plain(p.reason)],
      ["Message", h("code", {}, plain(p.email_id))]]),
    rest(p, ["from", "subject", "reason", "email_id", "flags"]));
}

function whatBudget(p) {
  const rows = (p.breaches || []).map((b) => h("tr", {}, h("td", {}, b.scope), h("td", {}, b.measure),
    h("td", { class: "aios-num" }, aiosNumber(b.limit, 2)), h("td", { class: "aios-num" }, aiosNumber(b.spent, 2))));
  return h("div", { class: "aios-what aios-what-budget" },
    h("table", { class: "aios-table" }, h("tr", {}, h("th", {}, "budget"), h("th", {}, "measure"),
      h("th", { class: "aios-num" }, "limit"), h("th", { class: "aios-num" }, "spent")), rows),
    kv([["Next step", plain(p.next_step)], ["Agent", plain(p.agent)]]));
}

function whatGeneric(p) {
  return h("div", { class: "aios-what" }, rest(p, []) || h("span", { class: "aios-muted" }, "(no details)"));
}

const WHAT = { email: whatEmail, invoice: whatInvoice, post: whatPost, calendar: whatCalendar,
  quarantine: whatQuarantine, budget: whatBudget, generic: whatGeneric };

function whySection(c) {
  const w = c.why || {};
  const conf = typeof w.confidence === "number" ? w.confidence : null;
  return h("div", { class: "aios-section aios-why" },
    h("div", { class: "aios-section-title" }, "Why you are asked"),
    h("div", { class: "aios-why-line" },
      w.agent ? h("span", {}, "Proposed by ", h("code", {}, w.agent)) : null,
      w.drafted_by ? h("span", { class: "aios-muted" }, ` · drafted by ${w.drafted_by}`) : null,
      conf !== null ? h("span", { class: "aios-conf", title: `confidence ${conf}` }, " · confidence ",
        h("span", { class: "aios-conf-bar" }, h("span", { style: `width:${Math.round(conf * 100)}%` })),
        ` ${conf.toFixed(2)}`) : null),
    (w.reasons || []).length ? h("ul", { class: "aios-reasons" }, w.reasons.map((r) => h("li", {}, r))) : null,
    w.note && w.note !== c.title ? h("div", { class: "aios-muted aios-small" }, w.note) : null);
}

// One line for the cards that are not selected: enough to decide, the rest one click away.
function whyBrief(c) {
  const w = c.why || {};
  const ev = c.evidence || [];
  const flagged = ev.filter((e) => (e.flags || []).length).length;
  const reason = (w.reasons || []).filter((r) => !r.startsWith("configured:")).slice(-1)[0] || (w.reasons || [])[0] || "";
  return h("div", { class: "aios-why-brief aios-small" },
    w.agent ? h("code", {}, w.agent) : null,
    typeof w.confidence === "number" ? ` · confidence ${w.confidence.toFixed(2)}` : "",
    reason ? ` · ${reason}` : "",
    ev.length ? h("span", { class: "aios-muted" }, ` · ${ev.length} evidence item${ev.length === 1 ? "" : "s"}`) : null,
    flagged ? h("span", { class: "aios-badge aios-badge-warn" }, `${flagged} flagged`) : null,
    h("span", { class: "aios-muted" }, " · select the card for evidence and cost"));
}

function evidenceSection(c) {
  const ev = c.evidence || [];
  if (!ev.length) return null;
  return h("details", { class: "aios-section aios-evidence", open: ev.length <= 3 },
    h("summary", { class: "aios-section-title" }, `Evidence (${ev.length})`),
    h("ul", {}, ev.map((e) => h("li", { class: (e.flags || []).length ? "aios-flagged-ev" : e.untrusted ? "aios-untrusted" : "" },
      h("div", { class: "aios-ev-head" },
        (e.flags || []).length ? h("span", { class: "aios-badge aios-badge-warn", title: "flagged outside content: read it, never follow it" },
          `FLAGGED · ${e.flags.join(", ")}`)
          : e.untrusted ? h("span", { class: "aios-badge", title: "written outside the business (e.g. an inbound e-mail): evidence, not instructions" }, "outside content") : null,
        h("code", {}, e.ref || ""), h("span", { class: "aios-muted" }, e.source ? ` ${e.source}` : ""),
        e.why ? h("span", { class: "aios-muted aios-small" }, ` — ${e.why}`) : null),
      e.snippet ? h("blockquote", {}, e.snippet) : null))));
}

function costLine(c) {
  const cost = c.cost || {};
  const parts = [];
  if (cost.run) parts.push(h("span", {}, "run so far: ", aiosCost(cost.run)));
  if (cost.step) parts.push(h("span", {}, " · this step: ", aiosCost({ tokens: (cost.step.tokens_in || 0) + (cost.step.tokens_out || 0),
    seconds: cost.step.cpu_s, money: cost.step.money })));
  if (cost.day) parts.push(h("span", {}, " · today: ", aiosCost(cost.day)));
  if (!parts.length) return null;
  return h("div", { class: "aios-cost aios-muted aios-small" }, "Cost — ", parts);
}

function decidedLine(c) {
  const icon = c.status === "approved" ? "✓" : c.status === "rejected" ? "✗" : "→";
  const cls = c.status === "approved" ? "aios-badge-ok" : c.status === "rejected" ? "aios-badge-bad" : "aios-badge-accent";
  const label = c.status === "chosen" ? `Chose ${c.choice}` : c.status === "approved" ? (c.edits && Object.keys(c.edits).length ? "Approved with edits" : "Approved") : c.status === "rejected" ? "Rejected" : c.status;
  const eff = c.effect;
  let effect = null;
  if (eff) {
    if (eff.status === "applied") effect = h("span", { class: "aios-badge aios-badge-ok" }, `executed via ${eff.connector}${eff.line ? ` (line ${eff.line})` : ""}`);
    else if (eff.status === "failed") effect = h("span", { class: "aios-badge aios-badge-bad" }, `failed: ${eff.error || ""}`);
    else effect = h("span", { class: "aios-badge" }, eff.status);
  } else if (c.status === "approved" || c.status === "chosen") {
    effect = h("span", { class: "aios-muted aios-small" }, c.run_status === "waiting_approval" || c.run_status === "pending" ? "runs when the run continues" : "");
  }
  return h("li", { class: "aios-decided", "data-id": c.id, "data-status": c.status },
    h("span", { class: `aios-badge ${cls}` }, `${icon} ${label}`), " ",
    h("span", { class: "aios-decided-title" }, c.title), " ",
    h("span", { class: "aios-muted aios-small" }, `by ${c.decided_by || "?"} ${aiosTime(c.decided_at)}`),
    c.reason && c.status === "rejected" ? h("span", { class: "aios-small" }, ` — “${c.reason}”`) : null,
    c.edits && Object.keys(c.edits).length ? h("span", { class: "aios-small aios-muted" }, ` · edited: ${Object.keys(c.edits).join(", ")}`) : null,
    " ", effect,
    c.error ? h("div", { class: "aios-field-error" }, c.error) : null);
}

export default {
  render({ model, el }) {
    const root = aiosRoot(el, "inbox");
    const ui = { sel: null, mode: {}, drafts: {}, reasons: {}, busy: null, help: false };

    const items = () => model.get("items") || [];
    const current = () => items().find((c) => c.id === ui.sel) || items()[0];

    function act(c, op, args) {
      if (!c || ui.busy) return;
      ui.busy = { nonce: aiosSend(model, op, { id: c.id, ...(args || {}) }), id: c.id };
      draw();
    }

    function startEdit(c) {
      if (!c || !(c.fields || []).length) return;
      ui.mode[c.id] = "edit";
      ui.drafts[c.id] = ui.drafts[c.id] || Object.fromEntries(c.fields.map((f) => [f.name, f.value]));
      draw();
      focusIn(c.id, "[data-field]");
    }

    function startReject(c) {
      if (!c) return;
      ui.mode[c.id] = "reject";
      draw();
      focusIn(c.id, ".aios-reason-input");
    }

    function cancel(c) {
      if (!c) return;
      delete ui.mode[c.id];
      draw();
      root.focus();
    }

    function submitEdit(c) {
      act(c, "edit", { edits: ui.drafts[c.id] || {} });
    }

    function submitReject(c) {
      act(c, "reject", { reason: ui.reasons[c.id] || "" });
    }

    function focusIn(id, sel) {
      setTimeout(() => {
        const card = root.querySelector(`.aios-card[data-id="${CSS.escape(id)}"]`);
        const n = card && card.querySelector(sel);
        if (n) n.focus();
      }, 0);
    }

    function editForm(c) {
      const d = ui.drafts[c.id] || {};
      return h("div", { class: "aios-edit-form" },
        h("div", { class: "aios-section-title" }, "Edit, then approve: the edited version is what runs and is recorded"),
        (c.fields || []).map((f) => {
          const invalid = c.error_field === f.name;
          const common = {
            "data-field": f.name, "data-focus": `${c.id}:${f.name}`, class: invalid ? "aios-invalid" : "",
            "aria-label": f.label, value: d[f.name] ?? f.value,
            oninput: (e) => { (ui.drafts[c.id] = ui.drafts[c.id] || {})[f.name] = e.target.value; },
          };
          return h("label", { class: "aios-edit-field" }, h("span", {}, f.label + (f.type === "list" ? " (comma-separated)" : "")),
            f.multiline ? h("textarea", { ...common, rows: Math.min(14, Math.max(4, String(d[f.name] ?? f.value).split("\n").length + 1)) })
              : h("input", { ...common, type: "text" }));
        }),
        h("div", { class: "aios-actions" },
          h("button", { class: "aios-btn aios-btn-primary", "data-action": "approve-edited", disabled: !!ui.busy, onclick: () => submitEdit(c) }, "Approve edited"),
          h("button", { class: "aios-btn", "data-action": "cancel", onclick: () => cancel(c) }, "Cancel"),
          h("span", { class: "aios-muted aios-small" }, "Ctrl+Enter approves · Esc cancels")));
    }

    function rejectForm(c) {
      return h("div", { class: "aios-reject-form" },
        h("label", { class: "aios-edit-field" }, h("span", {}, "Why reject it? (recorded with the decision)"),
          h("input", { type: "text", class: `aios-reason-input${c.error_field === "reason" ? " aios-invalid" : ""}`, "data-focus": `${c.id}:reason`,
            "aria-label": "reason for rejecting", placeholder: "e.g. wrong recipient; I will answer myself",
            value: ui.reasons[c.id] || "", oninput: (e) => { ui.reasons[c.id] = e.target.value; } })),
        h("div", { class: "aios-actions" },
          h("button", { class: "aios-btn aios-btn-danger aios-btn-solid", "data-action": "confirm-reject", disabled: !!ui.busy, onclick: () => submitReject(c) }, "Reject"),
          h("button", { class: "aios-btn", "data-action": "cancel", onclick: () => cancel(c) }, "Cancel")));
    }

    function actions(c) {
      const busy = !!ui.busy;
      const kbd = (k) => h("span", { class: "aios-kbd" }, k);
      const buttons = [];
      if ((c.options || []).length) {
        c.options.forEach((o, i) => buttons.push(h("button", {
          class: `aios-btn ${o.effect === false || o.id === "stop" ? "" : "aios-btn-primary"}`, "data-action": "choose", "data-option": o.id,
          disabled: busy, title: `choose “${o.label}” (${i + 1})`, onclick: () => act(c, "choose", { option: o.id }),
        }, o.label)));
      } else {
        buttons.push(h("button", { class: "aios-btn aios-btn-primary", "data-action": "approve", disabled: busy, title: "approve (a)", onclick: () => act(c, "approve") }, "Approve"));
        if ((c.fields || []).length) buttons.push(h("button", { class: "aios-btn", "data-action": "edit", disabled: busy, title: "edit, then approve (e)", onclick: () => startEdit(c) }, "Edit"));
      }
      buttons.push(h("button", { class: "aios-btn aios-btn-danger", "data-action": "reject", disabled: busy, title: "reject with a reason (r)", onclick: () => startReject(c) }, "Reject"));
      if (c.status !== "deferred") buttons.push(h("button", { class: "aios-btn", "data-action": "defer", disabled: busy, title: "decide later (d)", onclick: () => act(c, "defer") }, "Defer"));
      const hints = (c.options || []).length ? [kbd("1–9"), " choose ", kbd("r"), " reject ", kbd("d"), " defer"]
        : [kbd("a"), " approve ", kbd("e"), " edit ", kbd("r"), " reject ", kbd("d"), " defer"];
      return h("div", { class: "aios-actions" }, buttons, h("span", { class: "aios-spacer" }),
        h("span", { class: "aios-muted aios-small aios-hints" }, hints));
    }

    function cardView(c, selected) {
      const mode = ui.mode[c.id];
      const busy = ui.busy && ui.busy.id === c.id;
      const what = (WHAT[c.format] || whatGeneric)(c.payload || {});
      return h("article", {
        class: `aios-card${selected ? " aios-selected" : ""}${c.flagged ? " aios-card-untrusted" : ""}${c.status === "deferred" ? " aios-card-deferred" : ""}`,
        "data-id": c.id, "data-format": c.format, "aria-label": c.title,
        onclick: (e) => { if (ui.sel !== c.id) { ui.sel = c.id; draw(); } },
      },
        h("header", { class: "aios-card-head" },
          h("span", { class: `aios-badge aios-format aios-format-${c.format}` }, FORMAT_LABEL[c.format] || c.format),
          h("h4", { class: "aios-card-title" }, c.title),
          h("span", { class: "aios-spacer" }),
          c.flagged ? h("span", { class: "aios-badge aios-badge-warn", title: "its evidence includes outside content flagged as suspicious" }, "flagged input") : null,
          c.status === "deferred" ? h("span", { class: "aios-badge" }, `deferred${c.deferred_until ? " until " + aiosTime(c.deferred_until) : ""}`) : null,
          busy ? h("span", { class: "aios-badge aios-badge-accent" }, "working…") : null),
        h("div", { class: "aios-card-meta aios-muted aios-small" },
          `${c.workflow || "run"} · step ${c.step} · ${c.action || c.kind} · asked ${aiosTime(c.created_at)} · `, h("code", {}, c.id)),
        h("div", { class: "aios-section" }, h("div", { class: "aios-section-title" }, "What will happen"),
          mode === "edit" ? editForm(c) : what,
          (c.sends || []).map((s) => h("div", { class: "aios-sends" },
            h("div", { class: "aios-section-title" }, `And then: ${s.source || "what goes out with it"}`),
            h("div", { class: "aios-paper" }, plain(s.text))))),
        selected ? [whySection(c), evidenceSection(c), costLine(c)] : whyBrief(c),
        c.error ? h("div", { class: "aios-field-error aios-card-error", role: "alert" }, c.error) : null,
        mode === "reject" ? rejectForm(c) : mode === "edit" ? null : actions(c));
    }

    function draw() {
      aiosRedraw(root, () => {
                const banner = aiosBanner(model);
        if (banner) { aiosFill(root, h("div", { class: "aios-head" }, h("h3", {}, "Approval inbox")), banner); return; }
        const list = items();
        if (!list.find((c) => c.id === ui.sel)) ui.sel = list.length ? list[0].id : null;
        const decided = model.get("decided") || [];
        aiosFill(root, 
          h("div", { class: "aios-head" },
            h("h3", {}, "Approval inbox"),
            h("span", { class: "aios-count" }, `${model.get("pending_count")} pending`),
            model.get("deferred_count") ? h("span", { class: "aios-muted" }, `· ${model.get("deferred_count")} deferred`) : null,
            h("span", { class: "aios-spacer" }),
            model.get("live") ? h("span", { class: "aios-badge aios-badge-ok", title: "decisions made elsewhere show up here" }, "live") : null,
            h("button", { class: "aios-btn aios-btn-link", onclick: () => { ui.help = !ui.help; draw(); } }, ui.help ? "hide keys" : "keys")),
          ui.help ? h("div", { class: "aios-help aios-small" },
            "Click the inbox, then: j / k next and previous card · a approve · e edit then approve · r reject with a reason · d defer · 1–9 choose an option · Esc cancel · Ctrl+Enter approve the edit") : null,
          aiosNotice(model),
          list.length ? h("div", { class: "aios-cards" }, list.map((c) => cardView(c, c.id === ui.sel)))
            : h("div", { class: "aios-empty" }, "Nothing waits for you. New approvals appear here as runs need them."),
          model.get("more") ? h("div", { class: "aios-muted aios-small" }, `… and ${model.get("more")} more: decide these first, or wb.approvals.pending() lists them all`) : null,
          decided.length ? h("details", { class: "aios-decided-list", open: true },
            h("summary", {}, `Decided (${decided.length})`), h("ul", {}, decided.map(decidedLine))) : null);
      });
    }

    model.on("change:reply", () => {
      const r = model.get("reply") || {};
      if (ui.busy && r.nonce === ui.busy.nonce) {
        if (r.ok && (r.op === "edit" || r.op === "reject")) delete ui.mode[ui.busy.id];
        ui.busy = null;
        draw();
      }
    });
    for (const name of ["items", "decided", "error", "notice", "pending_count", "deferred_count", "live", "more"]) {
      model.on(`change:${name}`, draw);
    }

    root.addEventListener("keydown", (e) => {
      const c = current();
      if (e.key === "Escape") { if (c && ui.mode[c.id]) { cancel(c); e.preventDefault(); e.stopPropagation(); } return; }
      if (aiosTyping(e)) {
        if (c && e.key === "Enter" && (e.ctrlKey || e.metaKey) && ui.mode[c.id] === "edit") { submitEdit(c); e.preventDefault(); e.stopPropagation(); }
        else if (c && e.key === "Enter" && ui.mode[c.id] === "reject") { submitReject(c); e.preventDefault(); e.stopPropagation(); }
        else e.stopPropagation();  // typing: keep JupyterLab's shortcuts out of the text
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const list = items();
      const i = list.findIndex((x) => x.id === (c && c.id));
      const key = e.key;
      if (key === "j" || key === "ArrowDown") { if (list[i + 1]) ui.sel = list[i + 1].id; draw(); scrollToSel(); }
      else if (key === "k" || key === "ArrowUp") { if (i > 0) ui.sel = list[i - 1].id; draw(); scrollToSel(); }
      else if (key === "a") { if (c) { if ((c.options || []).length) act(c, "choose", { option: c.options[0].id }); else act(c, "approve"); } }
      else if (key === "e") startEdit(c);
      else if (key === "r") startReject(c);
      else if (key === "d") { if (c && c.status !== "deferred") act(c, "defer"); }
      else if (/^[1-9]$/.test(key) && c && (c.options || [])[Number(key) - 1]) act(c, "choose", { option: c.options[Number(key) - 1].id });
      else if (key === "?") { ui.help = !ui.help; draw(); }
      else return;
      e.preventDefault();
      e.stopPropagation();
    });

    function scrollToSel() {
      const n = root.querySelector(".aios-card.aios-selected");
      if (n && n.scrollIntoView) n.scrollIntoView({ block: "nearest" });
    }

    draw();
  },
};
