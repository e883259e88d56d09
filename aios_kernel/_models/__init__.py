"""Models: one interface to generation (cache, remote, local LM, templates) and routing."""

from ._cost import Cost
from ._service import Generation, GenRequest, Models, TraceInfo, default_validation, grounded
from ._templates import Templates, render, split_subject
from ._router import Route, Router
