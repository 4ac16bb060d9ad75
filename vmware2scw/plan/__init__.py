"""Planning: diff desired vs state into an immutable Plan, and render it."""

from vmware2scw.plan.action import Action, Reason
from vmware2scw.plan.model import PLAN_FORMAT_VERSION, Plan, PlanOptions, ResourceChange

__all__ = ["PLAN_FORMAT_VERSION", "Action", "Plan", "PlanOptions", "Reason", "ResourceChange"]
