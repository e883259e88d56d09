// Helpers shared by the workbench widgets. This file is joined in front of each widget's
// module by Python (widgets/_base.py: asset), so it has no imports or exports and the
// widgets load with no build step and no network. Every piece of data goes into the page
// through textContent, never innerHTML: approvals quote inbound e-mail, which may be hostile.

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = String(v);
    else if (k === "value") el.value = String(v);
    else if (k === "style") el.setAttribute("style", v);
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let aiosNonce = 0;

// Ask Python to do something: a change of the synced `request` trait (see _base.py).
function aiosSend(model, op, args) {
  aiosNonce += 1;
  const nonce = `${Date.now()}-${aiosNonce}`;
  model.set("request", { ...(args || {}), op, nonce });
  model.save_changes();
  return nonce;
}

function aiosTime(iso) {
  if (!iso) return "";
  const s = String(iso).replace("T", " ");
  return s.length > 16 ? s.slice(0, 16) : s;
}

function aiosNumber(x, digits) {
  if (x === null || x === undefined || x === "") return "";
  const n = Number(x);
  if (!Number.isFinite(n)) return String(x);
  return n.toLocaleString("en-GB", { minimumFractionDigits: digits ?? 0, maximumFractionDigits: digits ?? 2 });
}

function aiosMoney(x, currency) {
  if (x === null || x === undefined || x === "") return "";
  return `${aiosNumber(x, 2)}${currency ? " " + currency : ""}`;
}

function aiosCost(cost) {
  // {tokens, seconds, money} as one short line.
  if (!cost || typeof cost !== "object") return "";
  const parts = [];
  if (cost.tokens !== undefined) parts.push(`${aiosNumber(cost.tokens)} tokens`);
  if (cost.seconds !== undefined) parts.push(`${aiosNumber(cost.seconds, 2)} CPU-s`);
  if (cost.money !== undefined) parts.push(`$${aiosNumber(cost.money, 4)}`);
  return parts.join(" · ");
}

// The widget's root element: themed, focusable, and marked so JupyterLab's command-mode
// shortcuts (a, b, d, ...) do not fire while the widget has the focus.
function aiosRoot(el, name) {
  const root = h("div", { class: `aios-w aios-${name}`, tabindex: "0", "data-lm-suppress-shortcuts": "true" });
  el.append(root);
  const style = getComputedStyle(root);
  if (!style.getPropertyValue("--jp-layout-color0").trim()) {
    // Not in JupyterLab: follow the host's dark mode (marimo puts "dark" on <html>/<body>).
    const dark = [document.documentElement, document.body].some(
      (n) => n && (n.classList.contains("dark") || n.classList.contains("dark-theme") || n.dataset.theme === "dark"));
    if (dark) root.classList.add("aios-dark");
  }
  return root;
}

// Re-render without losing what the user was typing or where the focus was.
function aiosRedraw(root, draw) {
  const doc = root.getRootNode();
  const active = doc.activeElement;
  let key = null, start = null, end = null;
  if (active && root.contains(active) && active.dataset && active.dataset.focus) {
    key = active.dataset.focus;
    start = active.selectionStart;
    end = active.selectionEnd;
  }
  const scroll = root.scrollTop;
  draw();
  root.scrollTop = scroll;
  if (key) {
    const again = root.querySelector(`[data-focus="${CSS.escape(key)}"]`);
    if (again) {
      again.focus({ preventScroll: true });
      if (start !== null && again.setSelectionRange) {
        try { again.setSelectionRange(start, end); } catch (e) { /* not a text field */ }
      }
    }
  }
}

// Replace an element's children, skipping the null/false placeholders of optional parts
// (Element.append would print them as the text "null").
function aiosFill(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

function aiosBanner(model) {
  const err = model.get("error");
  if (err) return h("div", { class: "aios-error-banner", role: "alert" }, err);
  return null;
}

function aiosNotice(model) {
  const n = model.get("notice") || {};
  if (!n.text) return null;
  return h("div", { class: `aios-notice aios-notice-${n.level || "info"}`, role: "status" }, n.text);
}

function aiosTyping(ev) {
  const t = ev.composedPath ? ev.composedPath()[0] : ev.target;
  if (!t || !t.tagName) return false;
  const tag = t.tagName.toLowerCase();
  return tag === "input" || tag === "textarea" || tag === "select" || t.isContentEditable;
}
