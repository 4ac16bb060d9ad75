"""Refresh: read every recorded object back from its provider, one batched call each.

The only I/O of planning (catalogues and prices a plan needs are read here too).
Tombstones (their objects were deleted on purpose) and handed-off records (another
tool manages them) are not read; an object a provider reports gone is dropped from
the refreshed state, except a tainted record (an interrupted create whose object
may not exist yet: it resumes).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from vmware2scw.desired import Desired
from vmware2scw.diagnostics import Diagnostic, error, warning
from vmware2scw.errors import ProviderError
from vmware2scw.provider import Provider, ReadRequest, ResourceRef
from vmware2scw.retry import RetryPolicy
from vmware2scw.state.model import ResourceState, State, Status
from vmware2scw.wording import plural


def refresh(
    state: State, providers: Mapping[str, Provider], desired: Desired | None = None
) -> tuple[State, list[Diagnostic]]:
    """The state with attributes as providers read them now (serial unchanged).

    With ``desired``, each provider also sees the resources it will plan, and reads what
    planning needs in the same call (e.g. an instance catalogue).
    """
    diags: list[Diagnostic] = []
    groups: dict[str, list[ResourceState]] = {}
    for rs in state.resources.values():
        if rs.status is not Status.TRANSIENT_DONE and rs.handed_off is None:
            groups.setdefault(rs.provider, []).append(rs)
    planned: dict[str, list[ResourceRef]] = {}
    for dr in (desired.resources.values() if desired is not None else ()):
        planned.setdefault(dr.provider, []).append(ResourceRef.model_construct(
            address=dr.address, type=dr.type, attributes=dr.attributes))
    resources = dict(state.resources)
    for name in sorted(set(groups) | (set(planned) & set(providers))):
        records = sorted(groups.get(name, []), key=lambda r: r.address)
        provider = providers.get(name)
        if provider is None:
            diags.append(warning(
                f"provider {name!r} is not configured: "
                f"{plural(len(records), 'resource')} not refreshed",
                f"add `{name}` under `providers:` so v2s can read and manage them",
            ))
            continue
        types = provider.resource_types()
        refs = tuple(ResourceRef(address=r.address, type=r.type, attributes=r.attributes)
                     for r in records)
        try:
            request = ReadRequest.model_construct(resources=refs,
                                                  planned=tuple(planned.get(name, ())))
            resp = RetryPolicy().call(functools.partial(provider.read, request),
                                      f"refresh through provider {name!r}")
        except ProviderError as exc:
            diags.append(error(
                f"refresh through provider {name!r} failed: {exc.message}",
                exc.hint or "check the provider's settings and connectivity, or plan with "
                "-no-refresh to use the recorded state",
                address=exc.address,
            ))
            continue
        diags.extend(resp.diagnostics)
        for rs in records:
            if rs.address not in resp.attributes:
                continue  # the provider cannot tell: keep what was recorded
            attrs = resp.attributes[rs.address]
            if attrs is None:
                if rs.status is not Status.TAINTED:  # an interrupted create: keep to resume
                    del resources[rs.address]
                continue
            rtype = types.get(rs.type)
            hidden = rtype.sensitive if rtype is not None else frozenset()
            clean = {k: v for k, v in attrs.items() if k not in hidden}
            if clean != rs.attributes:
                resources[rs.address] = rs.model_copy(update={"attributes": clean})
    return state.model_copy(update={"resources": resources}), diags
