"""Text and Markdown renderings of plans."""

from __future__ import annotations

from tests.plan.chain import chain, desired, providers
from tests.plan.test_planner import _applied, _with_attr
from vmware2scw.plan import Action, Plan, Reason
from vmware2scw.plan.model import ResourceChange
from vmware2scw.plan.planner import make_plan
from vmware2scw.plan.render_compact import COMPACT_ABOVE
from vmware2scw.plan.render_json import render_json
from vmware2scw.plan.render_markdown import MAX_CHARS, render_markdown
from vmware2scw.plan.render_text import render_text
from vmware2scw.state.model import State


def _fresh(n: int = 1) -> Plan:
    want = desired(*[chain(f"vm{i:04d}", disks=2) for i in range(n)])
    return make_plan(want, State(lineage="L"), providers())


def test_text_shows_symbols_unknowns_and_summary():
    want = desired(chain("web"))
    state = _applied(want)
    plan = make_plan(_with_attr(want, "migration.web.scw_server", zone="nl-ams-1",
                                commercial_type="PRO2-M"), state, providers())
    text = render_text(plan)
    assert "-/+ scw_server migration.web.scw_server {" in text
    assert '~ zone              = "fr-par-1" -> "nl-ams-1" # forces replacement' in text
    assert "(known after apply)" in text
    assert text.rstrip().endswith("Plan: 0 to create, 0 to update, 1 to replace, 0 to destroy.")
    assert "unchanged attributes hidden" in text


def test_text_of_no_change_plan():
    want = desired(chain("web"))
    text = render_text(make_plan(want, _applied(want), providers()))
    assert text == "No changes. The migrations match the configuration.\n"


def test_json_round_trips():
    plan = _fresh()
    assert Plan.from_json(render_json(plan)) == plan


def test_markdown_has_table_mermaid_and_folds_long_lists():
    md = render_markdown(_fresh())
    assert "| create | update | replace | destroy | unchanged |" in md
    assert "```mermaid" in md and "-->" in md
    assert "<details>" in md and "</details>" in md


def test_markdown_of_a_large_plan_groups_the_graph_and_fits_a_comment():
    md = render_markdown(_fresh(40), compact=False)
    assert len(md) <= MAX_CHARS + 2000
    assert "more resources not shown" in md
    graph = md.split("```mermaid")[1].split("```")[0]
    assert "vm0039: 11 create" in graph and "-->" not in graph


def test_markdown_of_a_huge_plan_stays_within_one_comment():
    md = render_markdown(_fresh(150), compact=False)
    assert len(md) <= MAX_CHARS + 2000
    assert "| Migration | create | update | replace | destroy |" in md
    assert "more migrations" in md and "<details>" in md


def _server(name: str, action: Action, price: float | None) -> ResourceChange:
    after = {"name": name, "commercial_type": "PRO2-S", "monthly_price": price}
    return ResourceChange(address=f"migration.{name}.scw_server", type="scw_server",
                          provider="scaleway", action=action, reason=Reason.NEW, after=after,
                          before=None if action is Action.CREATE else {"name": name},
                          after_unknown=() if price is not None else ("monthly_price",))


def test_new_server_prices_and_the_plan_total_are_shown_whatever_the_order():
    changes = [_server("a", Action.CREATE, 12.5), _server("b", Action.DELETE_THEN_CREATE, 30.0),
               _server("c", Action.CREATE, None), _server("d", Action.UPDATE, 99.0)]
    texts = set()
    for order in (changes, changes[::-1]):
        plan = Plan(lineage="L", serial=0, changes=tuple(order))
        text = render_text(plan)
        texts.add(text.split("Plan:")[1])
        assert text.count("/month") == 3  # a, b and the total line; not c, not the update
        assert "# about €12.50/month" in text and "# about €30.00/month" in text
        md = render_markdown(plan)
        assert "| `migration.a.scw_server` | 12.50 |" in md
        assert "| **total** | **42.50** |" in md and "migration.d.scw_server` | 99" not in md
    assert texts == {" 2 to create, 1 to update, 1 to replace, 0 to destroy.\nNew servers: about "
                     "€42.50/month in total (2 servers priced, 1 without a known price).\n"}


def test_plans_without_known_prices_show_no_cost_line():
    assert "/month" not in render_text(_fresh()) and "/month" not in render_markdown(_fresh())


def test_compact_is_the_default_above_the_threshold_and_either_form_can_be_forced():
    at, above = _fresh(COMPACT_ABOVE), _fresh(COMPACT_ABOVE + 1)
    assert "will be created" in render_text(at) and "### Details" in render_markdown(at)
    for text in (render_text(above), render_text(at, compact=True)):
        assert text.startswith("Compact form: one line per resource")
        assert "will be created" not in text and "capacity_bytes" not in text
        assert "migration.vm0000: 11 to create\n    + migration.vm0000.disk_export[0]\n" in text
    assert "will be created" in render_text(above, compact=False)
    md = render_markdown(above)
    assert "### Resources by migration" in md and "### Details" not in md
    assert "@@ migration.vm0000: 11 to create @@\n+ migration.vm0000.disk_export[0]\n" in md
    assert "### Details" in render_markdown(above, compact=False)


def test_compact_plan_of_a_thousand_vms_is_one_line_per_resource():
    plan = _fresh(1000)
    changes = [c for c in plan.changes if c.is_change]
    text = render_text(plan)
    resource_lines = [line for line in text.splitlines() if line.startswith("    + migration.")]
    assert len(resource_lines) == len(changes) == 11000
    assert len(text.splitlines()) <= len(changes) + 2 * 1000 + 10  # + heading, blank per VM
    assert len(render_text(plan, compact=False).splitlines()) > 10 * len(text.splitlines())
    md = render_markdown(plan)
    assert len(md) <= MAX_CHARS + 2000
    assert md.count("```diff") == 1 and "more migrations not shown" in md


def test_compact_updates_show_only_changed_attributes():
    want = desired(chain("web"))
    plan = make_plan(_with_attr(want, "migration.web.scw_server", commercial_type="PRO2-M"),
                     _applied(want), providers())
    text = render_text(plan, compact=True)
    body = text.split("actions:\n\n")[1].split("\n\nPlan:")[0]
    assert body.splitlines()[0] == "migration.web: 1 to update"
    assert body.splitlines()[1] == "    ~ migration.web.scw_server"
    assert all(line.startswith("        ~ ") for line in body.splitlines()[2:])
    assert "commercial_type" in body and "unchanged" not in body
