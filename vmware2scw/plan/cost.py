"""Monthly prices of the servers a plan creates, as the renderers show them.

A provider that knows a new object's price plans it as a known PRICE_ATTRIBUTE
(vmware2scw.provider) attribute, e.g. on a server; the total is summed here,
over creates and replaces, so it never depends on the order resources were planned in.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmware2scw.plan.differ import is_under
from vmware2scw.plan.model import Plan, ResourceChange
from vmware2scw.provider import PRICE_ATTRIBUTE

PRICE_ATTR = PRICE_ATTRIBUTE


@dataclass(frozen=True)
class Costs:
    """Priced new objects (address -> €/month), the total and how many had no price."""

    prices: tuple[tuple[str, float], ...] = ()
    unpriced: int = 0

    @property
    def total(self) -> float:
        return round(sum(p for _, p in self.prices), 2)


def monthly_price(change: ResourceChange) -> float | None:
    """The planned monthly price of an object a change creates, when the plan knows it."""
    if not change.action.creates or change.after is None:
        return None
    if any(is_under(PRICE_ATTR, u) for u in change.after_unknown):
        return None
    value = change.after.get(PRICE_ATTR)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def plan_costs(plan: Plan) -> Costs:
    """Sum the monthly prices of every object the plan creates or replaces."""
    prices: list[tuple[str, float]] = []
    unpriced = 0
    for change in plan.changes:
        if not change.action.creates or change.after is None or PRICE_ATTR not in change.after:
            continue
        price = monthly_price(change)
        if price is None:
            unpriced += 1
        else:
            prices.append((change.address, price))
    return Costs(prices=tuple(prices), unpriced=unpriced)


def cost_line(costs: Costs) -> str:
    """``New servers: about €123.40/month (3 priced, 1 price unknown).`` or ''."""
    if not costs.prices:
        return ""
    n = len(costs.prices)
    extra = f", {costs.unpriced} without a known price" if costs.unpriced else ""
    return (f"New servers: about €{costs.total:.2f}/month in total ({n} "
            f"server{'s' if n > 1 else ''} priced{extra}).")
