"""The invoice ledger: numbers without gaps, VAT, the rendered PDF and EN 16931 e-invoice, payments."""

from . import _schema  # noqa: F401  (registers the component)
from ._document import check_draft
from ._ledger import InvoiceLedger
from ._read import Invoice, Invoices
from ._settings import Seller
from ._tax import EU, Treatment, cents, decimal, line_amount, money, totals, treatment

__all__ = ["EU", "Invoice", "InvoiceLedger", "Invoices", "Seller", "Treatment", "cents", "check_draft", "decimal",
           "line_amount", "money", "totals", "treatment"]
