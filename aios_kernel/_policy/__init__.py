"""Policy: graded autonomy, budgets, and durable approvals."""

from ._approvals import Approval, ApprovalBook
from ._autonomy import Decision, category, decide
from ._budgets import Breach, Spent, check, extend, limits, spent
from ._rules import Policy

__all__ = ["Approval", "ApprovalBook", "Breach", "Decision", "Policy", "Spent", "category", "check", "decide", "extend", "limits", "spent"]
