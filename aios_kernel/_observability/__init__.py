"""Observability: spans, costs, the narrative of a run, OTel export, a timeline plot."""

from ._narrative import Line, Narrative, narrative
from ._otel import export_otel, otel_json
from ._plot import timeline
from ._trace import connector_spending, costs, has_run, model_spending, model_totals, spans, trace, version

__all__ = ["Line", "Narrative", "connector_spending", "costs", "export_otel", "has_run", "model_spending", "model_totals",
           "narrative", "otel_json", "spans", "timeline", "trace", "version"]
