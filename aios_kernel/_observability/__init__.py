"""Observability: spans, costs, the narrative of a run, OTel export, a timeline plot."""

from ._narrative import Line, Narrative, narrative
from ._otel import export_otel, otel_json
from ._plot import timeline
from ._trace import costs, spans, trace

__all__ = ["Line", "Narrative", "costs", "export_otel", "narrative", "otel_json", "spans", "timeline", "trace"]
