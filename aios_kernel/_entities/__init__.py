"""Canonical business records: clients, contacts, projects, artifacts, deliverables, tasks, time."""

from . import _schema  # noqa: F401  (registers the component)
from ._ingest import IngestReport, MessageIngest, Resolver, business_file, business_settings, ingest_folder, ingest_messages
from ._read import ENTITY_TABLES, Records
from ._records import get, remove, rows, upsert
from ._reconcile import normalise_name

__all__ = ["ENTITY_TABLES", "IngestReport", "MessageIngest", "Records", "Resolver", "business_file", "business_settings", "get",
           "ingest_folder", "ingest_messages", "normalise_name", "remove", "rows", "upsert"]
