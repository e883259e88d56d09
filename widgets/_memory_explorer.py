"""The memory explorer: search, filter, see why a memory matched, its history, correct or forget it.

Searches go through ``wb.memory.recall`` (an empty query lists the newest
memories under the same filters); corrections and forgetting through
``wb.memory.update`` / ``wb.memory.forget``, so every change is an event
with a reason. Details and histories are read through the widget's own
connection, and the poll marks results that changed elsewhere.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import traitlets as t

from aios_kernel._errors import NotFoundError, ValidationError

from aios_kernel._entities import Records
from aios_kernel._memory import reads

from ._base import WorkbenchWidget, asset, jsonable

TEXT_PREVIEW = 600
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def diff_segments(old: str | None, new: str | None) -> list[dict[str, str]]:
    """Word-level differences from ``old`` to ``new`` as ``[{"op": "eq"|"del"|"ins", "text": ...}]``."""
    a, b = _TOKEN.findall(old or ""), _TOKEN.findall(new or "")
    out: list[dict[str, str]] = []

    def put(op: str, text: str) -> None:
        if not text:
            return
        if out and out[-1]["op"] == op:
            out[-1]["text"] += text
        else:
            out.append({"op": op, "text": text})

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            put("eq", "".join(a[i1:i2]))
        else:
            put("del", "".join(a[i1:i2]))
            put("ins", "".join(b[j1:j2]))
    return out


def unified_diff(old: str | None, new: str | None, *, old_label: str = "before", new_label: str = "after") -> str:
    """The classic line diff, for a notebook's text output."""
    return "".join(difflib.unified_diff((old or "").splitlines(True), (new or "").splitlines(True), old_label, new_label))


def _hit_row(d: dict[str, Any], *, score: float | None, why: dict[str, Any] | None) -> dict[str, Any]:
    text = d.get("text")
    return jsonable({
        "id": d["id"], "ref": f"mem:{d['id']}@v{d.get('version', 1)}", "version": d.get("version", 1),
        "text": text if text is not None else "", "purged": text is None,
        "preview": (text or "")[:TEXT_PREVIEW], "truncated": len(text or "") > TEXT_PREVIEW,
        "score": score, "why": why or {}, "tier": d.get("tier", ""), "kind": d.get("kind", ""),
        "source": d.get("source", ""), "source_ref": d.get("source_ref"), "derived_from": d.get("derived_from") or [],
        "client": d.get("client_id") or d.get("client"), "project": d.get("project_id") or d.get("project"),
        "event_time": d.get("event_time"), "created_at": d.get("created_at", ""), "meta": d.get("meta") or {},
        "sensitive": bool(d.get("sensitive")), "status": d.get("status", "active"), "changed": "",
    })


class MemoryExplorer(WorkbenchWidget):
    """Search the workspace's memory and correct or forget what is wrong.

    ``MemoryExplorer(wb)`` (or ``%aios memory`` / ``wb.memory.explore()``).
    Python can drive it as the front-end does: :meth:`search`,
    :meth:`select`, :meth:`correct`, :meth:`forget`.
    """

    _esm = asset("common.js", "memory.js")
    _css = asset("common.css", "memory.css")

    query = t.Unicode("").tag(sync=True)
    filters = t.Dict().tag(sync=True)
    """``tier``, ``kind``, ``client``, ``project``, ``since``, ``until`` (dates ``YYYY-MM-DD``)."""
    k = t.Int(10).tag(sync=True)
    choices = t.Dict().tag(sync=True)
    """What the filter menus offer: tiers, kinds, clients, projects."""
    results = t.List().tag(sync=True)
    selected = t.Unicode("").tag(sync=True)
    detail = t.Dict().tag(sync=True)
    """The selected memory: record, versions (each with a diff to the one before), audit events."""
    searched = t.Unicode("").tag(sync=True)
    """What the shown results answer: ``'"query" (filters)'`` or ``'newest'``."""

    def __init__(self, wb: Any = None, *, query: str = "", live: bool = True, poll_s: float = 1.0, **kwargs: Any) -> None:
        super().__init__(wb, live=live, poll_s=poll_s, **kwargs)
        if self._wb is not None:
            self.search(query)

    # -- Python API (the same paths the buttons take) --------------------------------------------

    def search(self, query: str = "", **filters: Any) -> list[dict[str, Any]]:
        """Run a search; keyword filters as in the front-end (tier, kind, client, project, since, until)."""
        return self._call("search", query=query, filters={**self.filters, **filters}, k=self.k)["results"]

    def select(self, id: str) -> dict[str, Any]:
        return self._call("select", id=id)["detail"]

    def correct(self, id: str, text: str, reason: str) -> dict[str, Any]:
        """Write a new version of memory ``id`` with ``reason``; returns the new detail."""
        return self._call("correct", id=id, text=text, reason=reason)["detail"]

    def forget(self, id: str, reason: str) -> dict[str, Any]:
        return self._call("forget", id=id, reason=reason)["detail"]

    def _call(self, op: str, **args: Any) -> dict[str, Any]:
        reply = self.handle({"op": op, **args})
        if not reply["ok"]:
            exc = ValidationError if reply.get("error_type") == "ValidationError" else RuntimeError
            raise exc(reply["message"])
        return {"results": self.results, "detail": self.detail}

    # -- state ------------------------------------------------------------------------------------

    def probe(self) -> Any:
        return reads.version(self._reader)

    def refresh(self) -> None:
        """Bring the shown results and the detail up to date with the store (no new search)."""
        with self.hold_sync():
            self.choices = self._choices()
            if self.results:
                states = reads.states(self._reader, [r["id"] for r in self.results])
                fresh = []
                for r in self.results:
                    s = states.get(r["id"])
                    r = dict(r)
                    if s is None:
                        r["changed"] = "gone"
                    elif s["status"] != "active":
                        r["status"], r["changed"] = s["status"], f"{s['status']}: {s['status_reason'] or ''}".strip(": ")
                    elif s["version"] != r["version"]:
                        r["changed"] = f"now version {s['version']}"
                    fresh.append(r)
                self.results = fresh
            if self.selected:
                self.detail = self._detail(self.selected)
            self.version = int(self._seen or 0)

    def _choices(self) -> dict[str, Any]:
        from aios_kernel._memory import KINDS, TIERS

        facets = reads.facets(self._reader)
        records = Records(self._reader)
        names = {}
        for d in [*records.clients(), *records.projects()]:
            names[d["id"]] = d.get("name") or d["id"]
            if d.get("code"):
                names[d["code"]] = d.get("name") or d["code"]
        extra = tuple(self._wb.config.get("memory.kinds") or ())
        return {"tiers": list(TIERS), "kinds": list(KINDS) + [k for k in extra if k not in KINDS],
                "clients": [{"id": c, "label": names.get(c, c)} for c in facets["clients"]],
                "projects": [{"id": p, "label": names.get(p, p)} for p in facets["projects"]]}

    def _detail(self, id: str) -> dict[str, Any]:
        # The memory layer's own readers, pointed at this widget's connection.
        from aios_kernel._memory import _records

        try:
            row = _records.get_row(self._reader, id)
        except NotFoundError:
            return {"id": id, "missing": True}
        versions = _records.history(self._reader, id)
        out_versions = []
        previous = None
        for v in versions:
            out_versions.append({"version": v.version, "text": v.text, "purged": v.text is None, "at": v.at,
                                 "actor": v.actor, "reason": v.reason, "ref": str(v.ref),
                                 "diff": diff_segments(previous.text, v.text) if previous is not None else []})
            previous = v
        events = [{"seq": e.seq, "at": e.at, "type": e.type, "actor": e.actor,
                   "reason": (e.payload or {}).get("reason")} for e in self._reader.events(entity=f"memory:{row['id']}")]
        record = _hit_row(row, score=None, why=None)
        record["status_reason"] = row.get("status_reason")
        record["expires_at"] = row.get("expires_at")
        record["updated_at"] = row.get("updated_at")
        record["actor"] = row.get("actor")
        return jsonable({"id": row["id"], "record": record, "versions": out_versions[::-1], "events": events})

    # -- operations from the front-end ------------------------------------------------------------

    def _op_search(self, req: dict[str, Any]) -> str:
        query = str(req.get("query") or "").strip()
        filters = {k: v for k, v in dict(req.get("filters") or {}).items() if v not in (None, "")}
        unknown = set(filters) - {"tier", "kind", "client", "project", "since", "until"}
        if unknown:
            raise ValidationError(f"unknown filter(s) {', '.join(sorted(unknown))}; use tier, kind, client, project, since, until",
                                  field=sorted(unknown)[0])
        k = int(req.get("k") or self.k)
        if query:
            hits = self._wb.memory.recall(query, k=k, tier=filters.get("tier"), kind=filters.get("kind"),
                                          client=filters.get("client"), project=filters.get("project"),
                                          since=filters.get("since"), until=filters.get("until"))
            rows = [_hit_row({**h.__dict__, "client_id": None, "project_id": None}, score=h.score, why=h.why) for h in hits]
            states = reads.states(self._reader, [r["id"] for r in rows])
            for r in rows:
                state = states.get(r["id"])
                r["status"] = (state or {}).get("status", "active")
                if state is not None:
                    r["client"], r["project"] = state["client_id"], state["project_id"]
        else:
            from aios_kernel._memory import _records

            for key in ("since", "until"):
                if filters.get(key):
                    filters[key] = _records.to_time(filters[key], field=key)
            rows = [_hit_row(d, score=None, why=None) for d in reads.recent(self._reader, limit=k, **filters)]
        label = ", ".join(f"{k_}={v}" for k_, v in filters.items())
        with self.hold_sync():
            self.query = query
            self.filters = dict(req.get("filters") or {})
            self.results = rows
            self.searched = (f'"{query}"' if query else "newest") + (f" ({label})" if label else "")
            if rows and self.selected not in {r["id"] for r in rows}:
                self.selected = rows[0]["id"]
                self.detail = self._detail(rows[0]["id"])
            elif not rows:
                self.selected, self.detail = "", {}
        return f"{len(rows)} memories"

    def _op_select(self, req: dict[str, Any]) -> str:
        mid = str(req.get("id") or "")
        if not mid:
            raise ValidationError("select needs the id of a memory", field="id")
        detail = self._detail(mid)
        if detail.get("missing"):
            raise NotFoundError(f"no memory with id {mid!r}", id=mid)
        with self.hold_sync():
            self.selected = detail["id"]
            self.detail = detail
        return ""

    def _op_correct(self, req: dict[str, Any]) -> str:
        mid, text, reason = str(req.get("id") or ""), req.get("text"), str(req.get("reason") or "").strip()
        if not reason:
            raise ValidationError("say why the memory is corrected (the reason is kept with the new version)", field="reason")
        current = self._wb.memory.get(mid)
        if isinstance(text, str) and text == current.get("text"):
            raise ValidationError("the corrected text is the same as the current version; change it or cancel", field="text")
        ref = self._wb.memory.update(mid, text, reason=reason)
        self._after_change(mid)
        return f"saved {ref}"

    def _op_forget(self, req: dict[str, Any]) -> str:
        mid, reason = str(req.get("id") or ""), str(req.get("reason") or "").strip()
        if not reason:
            raise ValidationError("say why the memory is forgotten (kept in the audit trail)", field="reason")
        self._wb.memory.forget(mid, reason=reason)
        self._after_change(mid)
        return f"forgot {mid}"

    def _after_change(self, mid: str) -> None:
        detail = self._detail(mid)
        with self.hold_sync():
            self.selected = detail["id"]
            self.detail = detail
            rec = detail["record"]
            self.results = [dict(r, text=rec["text"], preview=rec["preview"], truncated=rec["truncated"],
                                 version=rec["version"], ref=rec["ref"], status=rec["status"], changed="")
                            if r["id"] == mid else r for r in self.results]
        self._seen = self.probe()
        self.version = int(self._seen)

    def __repr__(self) -> str:
        if self.error:
            return super().__repr__()
        return f"<MemoryExplorer {len(self.results)} results for {self.searched or 'nothing yet'}>"
