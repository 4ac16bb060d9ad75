"""JSON rendering: the plan file itself (``v2s plan --json`` == ``v2s show --json FILE``)."""

from __future__ import annotations

from vmware2scw.plan.model import Plan


def render_json(plan: Plan) -> str:
    """The plan as indented JSON that :meth:`Plan.from_json` reads back unchanged."""
    return plan.to_json(indent=2) + "\n"
