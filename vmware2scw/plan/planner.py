"""The planner: desired resources + (refreshed) state -> an immutable Plan.

Pure: its only calls out are the providers' ``plan``, which are pure too. Resources are
planned in dependency order so each sees its upstream's planned values; a reference to
an output that a create/replace recomputes resolves to UNKNOWN ("known after apply").
Transient tombstones stay no-ops until a dependent must be created; then the transient
chain up to that dependent is planned again (DESIGN §4), which may take a second pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vmware2scw import __version__
from vmware2scw.config.interpolate import get_attribute, resolve
from vmware2scw.desired import Desired, DesiredResource
from vmware2scw.diagnostics import Diagnostic, error, warning
from vmware2scw.errors import ProviderError
from vmware2scw.gcpause import paused_gc
from vmware2scw.plan.action import Action, Reason
from vmware2scw.plan.differ import changed_paths, is_under, top_level, without_keys
from vmware2scw.plan.model import Attrs, Plan, PlanOptions, ResourceChange
from vmware2scw.plan.protect import check_prevent_destroy
from vmware2scw.plan.scope import Scope, topo_order
from vmware2scw.provider import PlanRequest, PlanResponse, Provider, ResourceType
from vmware2scw.state.model import ResourceState, State, Status
from vmware2scw.values import UNKNOWN, contains_unknown


def make_plan(
    desired: Desired,
    state: State,
    providers: Mapping[str, Provider],
    options: PlanOptions | None = None,
    *,
    recorded: State | None = None,
) -> Plan:
    """Plan the changes from ``state`` (already refreshed) to ``desired``.

    ``recorded`` is the state as read before refresh; when given, the plan lists drift
    (objects changed or deleted outside v2s) and tells re-creations of vanished objects.
    """
    with paused_gc():
        return _make_plan(desired, state, providers, options, recorded)


def _make_plan(
    desired: Desired,
    state: State,
    providers: Mapping[str, Provider],
    options: PlanOptions | None,
    recorded: State | None,
) -> Plan:
    opts = options or PlanOptions()
    planner = _Planner(desired, state, providers, opts, recorded)
    if opts.destroy:
        changes = planner.plan_destroy()
    elif opts.refresh_only:
        changes = []
    else:
        changes = planner.plan_apply()
    changes.sort(key=lambda c: c.address)
    planner.diags.extend(check_prevent_destroy(changes, desired, state))
    return Plan(
        v2s_version=__version__,
        lineage=state.lineage,
        serial=state.serial,
        config_digest=desired.config_digest,
        source_digests=dict(desired.source_digests),
        options=opts,
        changes=tuple(changes),
        drift=tuple(_drift(recorded, state)) if recorded is not None else (),
        diagnostics=tuple(planner.diags),
    )


class _Planner:
    """The working set of one planning run."""

    def __init__(
        self,
        desired: Desired,
        state: State,
        providers: Mapping[str, Provider],
        options: PlanOptions,
        recorded: State | None,
    ) -> None:
        self.desired = desired
        self.state = state
        self.providers = providers
        self.options = options
        self.recorded = recorded
        self.diags: list[Diagnostic] = []
        self.scope = Scope(desired, state, options, self.diags)
        self._types: dict[tuple[str, str], ResourceType | None] = {}
        self.planned: dict[str, ResourceChange] = {}

    # --- normal mode ------------------------------------------------------------------

    def plan_apply(self) -> list[ResourceChange]:
        """Every desired resource in scope, then deletes of what config no longer has."""
        order = [a for a in topo_order(self.desired, self.scope.graph)
                 if self.scope.includes(a)]
        retired = self._feeding_handed_off(order)
        order = [a for a in order if a not in retired]
        needed: dict[str, str] = {}
        for _ in range(len(order) + 1):  # each pass only grows `needed`
            self.planned = {}
            for address in order:
                change = self._plan_desired(self.desired.resources[address], needed)
                if change is not None:
                    self.planned[address] = change
            more = self._needed_tombstones(needed)
            if more.keys() <= needed.keys():
                break
            needed.update(more)
        changes = [self._cleanup(c) for c in self.planned.values()]
        for address, rs in sorted(self.state.resources.items()):
            if (address not in self.desired.resources and rs.handed_off is None
                    and self.scope.includes_orphan(address)):
                changes.append(_delete(rs, Reason.NOT_IN_CONFIG))
        return changes

    def _plan_desired(
        self, dr: DesiredResource, needed: Mapping[str, str]
    ) -> ResourceChange | None:
        rtype = self._type(dr.provider, dr.type, dr.address)
        if rtype is None:
            return None
        prior = self.state.resources.get(dr.address)
        resolved, unknown_in = resolve(dr.attributes, self._lookup)
        desired_attrs: Attrs = _blank_unknown(resolved)
        base = _Base(dr, rtype, desired_attrs, tuple(sorted(set(unknown_in))))
        if prior is not None and prior.handed_off is not None:
            return self._handed_off(base, prior)

        if prior is not None and prior.status is Status.TRANSIENT_DONE:
            if self.scope.replace_requested(dr.address):
                return self._fresh(base, None, Action.CREATE, Reason.REPLACE_REQUESTED)
            if dr.address in needed:
                note = f"needed by {needed[dr.address]}"
                return self._fresh(base, None, Action.CREATE, Reason.NEEDED_BY, (note,))
            return self._tombstone(base, prior)
        if prior is None:
            gone = self.recorded is not None and dr.address in self.recorded.resources
            return self._fresh(base, None, Action.CREATE, Reason.GONE if gone else Reason.NEW)
        replace_action = (
            Action.CREATE_THEN_DELETE if rtype.create_before_destroy else Action.DELETE_THEN_CREATE
        )
        if prior.status is Status.TAINTED:  # applied again: the walker adopts what it left
            reason = Reason.RESUME if prior.checkpoint else Reason.TAINTED
            return self._fresh(base, prior, Action.CREATE, reason)
        if self.scope.replace_requested(dr.address):
            return self._fresh(base, prior, replace_action, Reason.REPLACE_REQUESTED)

        resp = self._provider_plan(base, prior.attributes)
        if resp is None:
            return None
        before = prior.attributes
        changed = changed_paths(before, resp.planned, resp.unknown)
        if not changed:
            return self._change(base, prior, Action.NOOP, Reason.NONE, resp.planned, resp)
        forced = sorted(
            set(resp.replace_paths) | _forces_new(rtype, before, base.desired, base.unknown_in)
            | {p for p in changed if top_level(p) in rtype.force_new}
        )
        if forced:
            fresh = self._fresh(base, prior, replace_action, Reason.FORCE_NEW)
            if fresh is None:
                return None
            return fresh.model_copy(update={"replace_paths": tuple(forced)})
        upstream = set(base.unknown_in) | set(resp.unknown)
        only_upstream = all(any(is_under(p, u) for u in upstream) for p in changed)
        reason = Reason.UPSTREAM_CHANGED if only_upstream else Reason.CHANGED
        return self._change(base, prior, Action.UPDATE, reason, resp.planned, resp, changed)

    def _feeding_handed_off(self, order: list[str]) -> set[str]:
        """Resources not in state whose dependents are all handed off: never created again
        (a handed-off server needs no new image, nor the data path behind it)."""
        retired = {a for a, rs in self.state.resources.items() if rs.handed_off is not None}
        if not retired:
            return set()
        for address in reversed(order):
            users = self.scope.dependents(address)
            if users and users <= retired and address not in self.state.resources:
                retired.add(address)
        return {a for a in retired if a not in self.state.resources}

    def _handed_off(self, base: _Base, prior: ResourceState) -> ResourceChange:
        """A record handed off to another tool: always a no-op, never refreshed or replaced."""
        assert prior.handed_off is not None
        if self.scope.replace_requested(base.dr.address):
            self.diags.append(error(
                f"cannot replace {base.dr.address}: it was handed off to "
                f"{prior.handed_off.to} on {prior.handed_off.at}",
                "`v2s state rm` the record first to let v2s create it again",
                address=base.dr.address,
            ))
        attrs = without_keys(prior.attributes, base.rtype.sensitive)
        return ResourceChange(
            address=base.dr.address, type=base.dr.type, provider=base.dr.provider,
            action=Action.NOOP, reason=Reason.HANDED_OFF, before=attrs, after=attrs,
            config=without_keys(base.dr.attributes, base.rtype.sensitive), **base.common(),
            notes=(f"managed by {prior.handed_off.to} since {prior.handed_off.at}",),
        )

    def _tombstone(self, base: _Base, prior: ResourceState) -> ResourceChange | None:
        """A used transient stays a no-op; say so when its config has changed since."""
        resp = self._provider_plan(base, prior.attributes)
        if resp is None:
            return None
        ignore = set(base.rtype.computed) | set(base.unknown_in) | set(resp.unknown)
        drifted = [
            p for p in changed_paths(prior.attributes, resp.planned)
            if not any(is_under(p, i) for i in ignore)
        ]
        notes: tuple[str, ...] = ()
        if drifted:
            notes = (
                f"configuration changed since it was used ({', '.join(drifted)}); it is "
                "rebuilt only when a dependent must be created (use -replace on one)",
            )
        return ResourceChange(
            address=base.dr.address, type=base.dr.type, provider=base.dr.provider,
            action=Action.NOOP, reason=Reason.TOMBSTONE,
            before=without_keys(prior.attributes, base.rtype.sensitive),
            after=without_keys(prior.attributes, base.rtype.sensitive),
            config=without_keys(base.dr.attributes, base.rtype.sensitive),
            **base.common(), notes=notes,
        )

    def _fresh(
        self,
        base: _Base,
        prior: ResourceState | None,
        action: Action,
        reason: Reason,
        notes: tuple[str, ...] = (),
    ) -> ResourceChange | None:
        """A change that makes a new object: planned from no prior, outputs unknown."""
        resp = self._provider_plan(base, None)
        if resp is None:
            return None
        changed = () if prior is None else changed_paths(prior.attributes, resp.planned,
                                                          resp.unknown)
        return self._change(base, prior, action, reason, resp.planned, resp, changed, notes)

    def _change(
        self,
        base: _Base,
        prior: ResourceState | None,
        action: Action,
        reason: Reason,
        after: Attrs,
        resp: PlanResponse,
        changed: tuple[str, ...] = (),
        notes: tuple[str, ...] = (),
    ) -> ResourceChange:
        hidden = base.rtype.sensitive
        return ResourceChange(
            address=base.dr.address, type=base.dr.type, provider=base.dr.provider,
            action=action, reason=reason,
            before=without_keys(prior.attributes, hidden) if prior is not None else None,
            after=without_keys(after, hidden),
            after_unknown=tuple(p for p in resp.unknown if top_level(p) not in hidden),
            changed_paths=tuple(p for p in changed if top_level(p) not in hidden),
            config=without_keys(base.dr.attributes, hidden),
            **base.common(), notes=notes,
        )

    def _needed_tombstones(self, needed: Mapping[str, str]) -> dict[str, str]:
        """Tombstones that a creating dependent needs, each with the dependent's address."""
        found: dict[str, str] = {}
        for change in self.planned.values():
            if not change.action.creates or change.reason is Reason.NEEDED_BY:
                continue
            stack = list(change.depends_on)
            while stack:
                dep = stack.pop()
                rs = self.state.resources.get(dep)
                if rs is None or rs.status is not Status.TRANSIENT_DONE or dep in found:
                    continue
                if dep not in self.desired.resources:
                    continue
                found[dep] = needed.get(dep, change.address)
                stack.extend(self.desired.resources[dep].depends_on)
        return found

    def _cleanup(self, change: ResourceChange) -> ResourceChange:
        """A created transient whose dependents all stay as they are is deleted now."""
        rs = self.state.resources.get(change.address)
        if change.action is not Action.NOOP or not change.transient or rs is None:
            return change
        if rs.status is not Status.CREATED:
            return change
        dependents = self.scope.dependents(change.address)
        if any(
            d not in self.planned or self.planned[d].action is not Action.NOOP
            or d not in self.state.resources
            for d in dependents
        ):
            return change
        return change.model_copy(
            update={"action": Action.DELETE, "reason": Reason.CLEANUP, "after": None}
        )

    # --- destroy mode -----------------------------------------------------------------

    def plan_destroy(self) -> list[ResourceChange]:
        """Delete every recorded resource in scope (targets and their dependents)."""
        chosen = {a for a in self.scope.destroy_set()
                  if self.state.resources[a].handed_off is None}
        handed = {rs.migration for rs in self.state.resources.values() if rs.handed_off}
        changes = []
        for a in sorted(chosen):
            rs = self.state.resources[a]
            undo = self._undoes_tombstone(rs)
            if undo and rs.status is Status.TRANSIENT_DONE and rs.migration in handed:
                self.diags.append(warning(
                    f"migration {rs.migration} was handed off, yet destroying {a} asks its "
                    "provider to undo what it left (a cold cutover powers the source VM back "
                    "on) while the handed-off server keeps running",
                    "leave this migration out with -target, or `v2s state rm` the record",
                    address=a))
            changes.append(_delete(rs, Reason.DESTROY, undo=undo))
        return changes

    def _undoes_tombstone(self, rs: ResourceState) -> bool:
        """True when destroying this record calls the provider even for a tombstone."""
        prov = self.providers.get(rs.provider)
        rtype = prov.resource_types().get(rs.type) if prov is not None else None
        return rtype is not None and rtype.delete_tombstone_on_destroy

    # --- helpers ----------------------------------------------------------------------

    def _lookup(self, address: str, attr: str) -> Any:
        """The planned value of ``address.attr``, or UNKNOWN until apply."""
        change = self.planned.get(address)
        if change is not None:
            if any(is_under(attr, u) or is_under(u, attr) for u in change.after_unknown):
                return UNKNOWN
            source = change.after
        else:
            rs = self.state.resources.get(address)
            source = rs.attributes if rs is not None else None
        if source is None:
            return UNKNOWN
        try:
            return get_attribute(source, attr)
        except KeyError:
            self.diags.append(error(
                f"reference to {address}.{attr}: that resource has no attribute {attr!r}",
                "see docs/resources.md for the attributes each resource type has",
                address=address,
            ))
            return UNKNOWN

    def _type(self, provider: str, type_name: str, address: str) -> ResourceType | None:
        key = (provider, type_name)
        if key not in self._types:
            prov = self.providers.get(provider)
            rtype = prov.resource_types().get(type_name) if prov is not None else None
            if prov is None:
                self.diags.append(error(
                    f"provider {provider!r} is not configured",
                    f"add it under `providers:` in the config to manage {type_name} resources",
                    address=address,
                ))
            elif rtype is None:
                self.diags.append(error(
                    f"provider {provider!r} has no resource type {type_name!r}",
                    "check the provider's `source:` in the config", address=address,
                ))
            self._types[key] = rtype
        return self._types[key]

    def _provider_plan(self, base: _Base, prior: Attrs | None) -> PlanResponse | None:
        provider = self.providers[base.dr.provider]
        try:
            resp = provider.plan(PlanRequest(
                address=base.dr.address, type=base.dr.type, prior=prior,
                desired=base.desired, desired_unknown=base.unknown_in,
            ))
        except ProviderError as exc:
            self.diags.append(error(f"planning failed: {exc.message}", exc.hint or "",
                                    address=base.dr.address))
            return None
        self.diags.extend(resp.diagnostics)
        return resp


class _Base:
    """What every change of one desired resource shares."""

    __slots__ = ("desired", "dr", "rtype", "unknown_in")

    def __init__(
        self, dr: DesiredResource, rtype: ResourceType, desired: Attrs, unknown_in: tuple[str, ...]
    ) -> None:
        self.dr = dr
        self.rtype = rtype
        self.desired = desired
        self.unknown_in = unknown_in

    def common(self) -> dict[str, Any]:
        return {
            "depends_on": tuple(sorted(self.dr.depends_on)),
            "transient": self.dr.transient or self.rtype.transient,
            "migration": self.dr.migration,
            "priority": self.dr.priority,
            "prevent_destroy": self.dr.prevent_destroy,
            "sensitive_paths": tuple(sorted(self.rtype.sensitive & self.dr.attributes.keys())),
        }


def _delete(rs: ResourceState, reason: Reason, *, undo: bool = False) -> ResourceChange:
    notes: tuple[str, ...] = ()
    if rs.status is Status.TRANSIENT_DONE and undo:
        notes = ("already cleaned up (tombstone): the provider undoes what is left, e.g. "
                 "powers a cold-cutover source VM back on",)
    elif rs.status is Status.TRANSIENT_DONE:
        notes = ("already cleaned up (tombstone): only the record is removed",)
    return ResourceChange(
        address=rs.address, type=rs.type, provider=rs.provider, action=Action.DELETE,
        reason=reason, before=dict(rs.attributes), after=None,
        depends_on=tuple(sorted(rs.dependencies)), transient=rs.transient,
        migration=rs.migration, prevent_destroy=rs.prevent_destroy, notes=notes,
    )


def _drift(recorded: State, refreshed: State) -> list[ResourceChange]:
    """Objects whose refreshed attributes differ from the recorded ones, or that vanished."""
    out: list[ResourceChange] = []
    for address, old in sorted(recorded.resources.items()):
        if old.status is not Status.CREATED:
            continue  # tombstones are gone on purpose; tainted records are half-made
        new = refreshed.resources.get(address)
        if new is None:
            out.append(_delete(old, Reason.GONE))
            continue
        paths = changed_paths(old.attributes, new.attributes)
        if paths:
            out.append(ResourceChange(
                address=address, type=old.type, provider=old.provider, action=Action.UPDATE,
                reason=Reason.DRIFT, before=dict(old.attributes), after=dict(new.attributes),
                changed_paths=paths, depends_on=tuple(sorted(old.dependencies)),
                transient=old.transient, migration=old.migration,
            ))
    return out


def _forces_new(
    rtype: ResourceType, prior: Attrs, desired: Attrs, unknown: tuple[str, ...]
) -> set[str]:
    """The one replace rule: a force_new attribute whose new value differs or is unknown."""
    return {a for a in rtype.force_new
            if a in desired and (a in unknown or prior.get(a) != desired.get(a))}


def _blank_unknown(value: Any) -> Any:
    """Replace UNKNOWN by None, as PlanRequest.desired expects."""
    if value is UNKNOWN:
        return None
    if not contains_unknown(value):
        return value
    if isinstance(value, dict):
        return {k: _blank_unknown(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_blank_unknown(v) for v in value]
    return value
