"""OpenTelemetry-compatible export: a run's spans as OTLP/JSON (``resourceSpans``).

Ids are derived by hashing ours (32 hex digits for a trace, 16 for a span),
so exporting twice gives the same document. Tokens, cost and agent version
travel as ``aios.*`` attributes and the GenAI semantic-convention names.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from .._store import Store
from .._version import __version__
from ._trace import spans

KIND = {"run": 1, "task": 1, "step": 1, "model": 3, "connector": 3}  # INTERNAL, CLIENT


def _hex(value: str, n: int) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:n]


def _nanos(at: str | None) -> str:
    if not at:
        return "0"
    dt = datetime.fromisoformat(at.replace("Z", "+00:00"))
    return str(int(dt.timestamp() * 1_000_000) * 1000)


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        v = {"boolValue": value}
    elif isinstance(value, int):
        v = {"intValue": str(value)}
    elif isinstance(value, float):
        v = {"doubleValue": value}
    else:
        v = {"stringValue": str(value)}
    return {"key": key, "value": v}


def otel_json(store: Store, run_id: str) -> dict[str, Any]:
    """The OTLP/JSON document of one run."""
    trace_id = _hex(run_id, 32)
    out = []
    for s in spans(store, run_id):
        attrs = [_attr("aios.span.kind", s["kind"]), _attr("aios.span.id", s["id"])]
        for key, name in (("agent", "aios.agent.name"), ("agent_version", "aios.agent.version"), ("tier", "aios.model.tier"),
                          ("input_ref", "aios.input.ref"), ("output_ref", "aios.output.ref")):
            if s[key]:
                attrs.append(_attr(name, s[key]))
        if s["kind"] == "model":
            attrs += [_attr("gen_ai.usage.input_tokens", int(s["tokens_in"])),
                      _attr("gen_ai.usage.output_tokens", int(s["tokens_out"]))]
        attrs += [_attr("aios.cost", float(s["cost"])), _attr("aios.cpu_seconds", float(s["cpu_s"]))]
        attrs += [_attr(f"aios.attr.{k}", v if isinstance(v, (bool, int, float, str)) else json.dumps(v))
                  for k, v in (s["attrs"] or {}).items() if v is not None]
        error = s["status"] in ("error", "failed")
        status: dict[str, Any] = {"code": 2 if error else 1}
        if error and (s["attrs"] or {}).get("error"):
            status["message"] = str(s["attrs"]["error"])
        out.append({"traceId": trace_id, "spanId": _hex(s["id"], 16),
                    "parentSpanId": _hex(s["parent_id"], 16) if s["parent_id"] else "",
                    "name": f"{s['kind']} {s['name']}", "kind": KIND.get(s["kind"], 1),
                    "startTimeUnixNano": _nanos(s["start_at"]), "endTimeUnixNano": _nanos(s["end_at"] or s["start_at"]),
                    "attributes": attrs, "status": status})
    return {"resourceSpans": [{
        "resource": {"attributes": [_attr("service.name", "aios-workbench"), _attr("service.version", __version__)]},
        "scopeSpans": [{"scope": {"name": "aios_kernel.orchestrator", "version": __version__}, "spans": out}],
    }]}


def export_otel(store: Store, run_id: str, path: str | Path | None = None) -> dict[str, Any]:
    """The OTLP/JSON document; with ``path``, also written there."""
    doc = otel_json(store, run_id)
    if path is not None:
        Path(path).write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return doc
