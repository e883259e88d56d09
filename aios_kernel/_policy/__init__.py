"""Policy: graded autonomy, budgets, and durable approvals."""

from ._approvals import Approval, ApprovalBook
from ._autonomy import Decision, category, decide
from ._budgets import Breach, Spent, check, limits, spent

__all__ = ["Approval", "ApprovalBook", "Breach", "Decision", "Spent", "category", "check", "decide", "limits", "spent"]
