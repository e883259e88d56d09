"""Imports every layer's schema module so the store knows all components.

Order matters: a component's tables may reference an earlier one's, and
several components projecting one event do so in this order. Schema modules
are light: no model, Dask or index imports here.
"""

from ._store import _core  # noqa: F401  (the event log, first)
from ._observability import _schema as _observability_schema  # noqa: F401,I001
from ._entities import _schema as _entities_schema  # noqa: F401,I001
from ._models import _schema as _models_schema  # noqa: F401,I001
from ._memory import _schema as _memory_schema  # noqa: F401,I001
from ._connectors import _schema as _connectors_schema  # noqa: F401,I001
from ._policy import _schema as _policy_schema  # noqa: F401,I001
from ._invoices import _schema as _invoices_schema  # noqa: F401,I001
from ._orchestrator import _schema as _orchestrator_schema  # noqa: F401,I001
from ._scheduler import _schema as _scheduler_schema  # noqa: F401,I001
