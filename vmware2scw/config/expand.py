"""``expand()``: a loaded config + source inventory -> :class:`vmware2scw.desired.Desired`.

Wildcard sources become one instance per matching VM (``migration.app["app-03"]``), each
migration becomes the chain of docs/resources.md, references between resources stay as
``${address.attr}`` templates and become dependency edges. Inventory is read in one
batch per source provider.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Callable, Iterable
from typing import Any

from vmware2scw.config.chain import (
    ATTRIBUTES,
    PROVIDER_OF,
    SOURCE_TYPES,
    TRANSIENT_TYPES,
    Instance,
    Spec,
    build_chain,
)
from vmware2scw.config.interpolate import TemplateError, iter_strings, references
from vmware2scw.config.loader import LoadedConfig, YPath
from vmware2scw.config.model import BACKEND_SECRETS, Config, MigrationConfig
from vmware2scw.config.suggest import did_you_mean, nearest
from vmware2scw.desired import Desired, DesiredResource, ProviderBlock
from vmware2scw.diagnostics import Diagnostic, SourcePos
from vmware2scw.errors import ConfigError
from vmware2scw.gcpause import paused_gc
from vmware2scw.provider import InventoryResponse, VMFacts

InventoryFn = Callable[[str, tuple[str, ...]], InventoryResponse]
BUILTIN_PROVIDERS = ("vmware", "qemu", "scaleway")
SENSITIVE_KEYS = frozenset(
    {
        "password",
        "passwd",
        "secret",
        "secret_key",
        "token",
        "api_key",
        "access_token",
        "private_key",
    }
)
SENSITIVE_SUFFIXES = ("_password", "_secret", "_secret_key", "_token", "_private_key")
GLOB_CHARS = frozenset("*?[")
MASK = "(sensitive)"


def is_glob(pattern: str) -> bool:
    """True when a source VM name is a pattern (``*``, ``?`` or ``[``)."""
    return not GLOB_CHARS.isdisjoint(pattern)


def is_sensitive_key(key: str) -> bool:
    """Settings keys that always hold secrets."""
    low = key.lower()
    return low in SENSITIVE_KEYS or low.endswith(SENSITIVE_SUFFIXES)


class _Errors:
    def __init__(self) -> None:
        self.items: list[tuple[SourcePos, str]] = []

    def add(self, pos: SourcePos, message: str) -> None:
        self.items.append((pos, message))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        ordered = sorted(set(self.items), key=lambda e: (e[0].file, e[0].line, e[0].column, e[1]))
        lines = [f"{p}: {m}" for p, m in ordered]
        text = "\n".join(lines[:10])
        if len(lines) > 10:
            text += f"\n... and {len(lines) - 10} more"
        raise ConfigError(text)


def provider_blocks(loaded: LoadedConfig, used: Iterable[str] = ()) -> dict[str, ProviderBlock]:
    """Every declared provider block (+ empty ones for ``used`` undeclared names), with the
    settings paths that hold secrets in ``sensitive_paths``."""
    secret_paths = loaded.sensitive_paths | loaded.env_paths
    blocks: dict[str, ProviderBlock] = {}
    for name, raw in loaded.config.providers.items():
        settings = {k: v for k, v in (raw or {}).items() if k != "source"}
        source = str((raw or {}).get("source") or name)
        sensitive: set[str] = set()
        for path, _ in iter_strings(settings):
            if ("providers", name, *_split(path)) in secret_paths or any(
                is_sensitive_key(str(step)) for step in _split(path)
            ):
                sensitive.add(path)
        for key, value in settings.items():
            if is_sensitive_key(key) and not isinstance(value, str):
                sensitive.add(key)
        blocks[name] = ProviderBlock(
            local_name=name, source=source, settings=settings, sensitive_paths=frozenset(sensitive)
        )
    for name in sorted(set(used) - set(blocks)):
        blocks[name] = ProviderBlock(local_name=name, source=name)
    return dict(sorted(blocks.items()))


def _split(path: str) -> tuple[str | int, ...]:
    out: list[str | int] = []
    for chunk in path.replace("[", ".[").split("."):
        if chunk.startswith("[") and chunk.endswith("]"):
            out.append(int(chunk[1:-1]))
        elif chunk:
            out.append(chunk)
    return tuple(out)


def _match(mig: MigrationConfig, facts: dict[str, list[VMFacts]]) -> list[VMFacts]:
    pattern = mig.source.vm
    if is_glob(pattern):
        names = sorted(n for n in facts if fnmatch.fnmatchcase(n, pattern))
        return [facts[n][0] for n in names]
    return facts.get(pattern, [])[:1]


def _nics(inst: Instance, errors: _Errors, pos: SourcePos) -> list[str]:
    tgt = inst.mig.target
    networks: list[str] = []
    for nic in sorted(inst.vm.nics, key=lambda n: n.mac.lower()):
        pn = tgt.network_mapping.get(nic.network)
        if pn is not None:
            networks.append(pn)
        elif not tgt.drop_unmapped_nics:
            errors.add(
                pos,
                f"migration.{inst.instance}: NIC {nic.mac} of VM "
                f"{inst.vm.name!r} is on port group {nic.network!r}, which "
                "target.network_mapping does not map; map it to a Private Network "
                "id or set target.drop_unmapped_nics: true",
            )
    return networks


def _value_at(config: Config, path: YPath) -> Any:
    value: Any = config
    for step in path:
        if isinstance(value, dict):
            value = value[step]
        elif isinstance(value, list):
            value = value[int(step)]
        else:
            value = getattr(value, str(step))
    return value


def _check_references(
    loaded: LoadedConfig, resources: dict[str, DesiredResource], errors: _Errors
) -> None:
    types_by_addr = {a: r.type for a, r in resources.items()}
    for path in sorted(loaded.template_paths, key=str):
        if path[0] == "defaults":
            continue
        try:
            value = _value_at(loaded.config, path)
        except (KeyError, AttributeError, IndexError, ValueError):
            continue
        try:
            refs = references(value)
        except TemplateError as exc:
            errors.add(loaded.pos(path), exc.message)
            continue
        for address, attr in sorted(refs):
            _check_reference(loaded, path, address, attr, types_by_addr, errors)


def _check_reference(
    loaded: LoadedConfig,
    path: YPath,
    address: str,
    attr: str,
    types_by_addr: dict[str, str],
    errors: _Errors,
) -> None:
    where = loaded.source.pos(path)
    type_ = types_by_addr.get(address)
    if type_ is None:
        near = nearest(address, types_by_addr)
        hint = f"; the nearest existing address is {near}" if near else "; no resources exist"
        errors.add(where, f"reference to {address}.{attr}: no such resource{hint}")
        return
    head = attr.split(".", 1)[0].split("[", 1)[0]
    known = ATTRIBUTES.get(type_, ())
    if known and head not in known:
        errors.add(
            where,
            f"reference to {address}.{attr}: {type_} has no attribute {head!r}"
            + did_you_mean(head, known),
        )


def _digest(loaded: LoadedConfig, providers: dict[str, ProviderBlock]) -> str:
    data = loaded.config.model_dump(mode="json")
    for name, block in providers.items():
        target = data.get("providers", {}).get(name)
        if not isinstance(target, dict):
            continue
        for path in block.sensitive_paths:
            steps = _split(path)
            node: Any = target
            for step in steps[:-1]:
                node = node[step]
            node[steps[-1]] = MASK
    for name, var in loaded.config.variables.items():
        if var.sensitive:
            data["variables"][name]["default"] = MASK
    s3 = (data.get("backend") or {}).get("s3") or {}
    for key in BACKEND_SECRETS:
        if s3.get(key) is not None:
            s3[key] = MASK
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _bucket(providers: dict[str, ProviderBlock], lineage: str) -> str:
    block = providers.get("scaleway")
    configured = block.settings.get("transit_bucket") if block else None
    if isinstance(configured, str) and configured:
        return configured
    return f"v2s-transit-{lineage[:8]}"


def expand(
    loaded: LoadedConfig, *, lineage: str, inventory: InventoryFn
) -> tuple[Desired, list[Diagnostic]]:
    """Expand migrations into resources; raise ConfigError listing every problem found."""
    with paused_gc():
        return _expand(loaded, lineage=lineage, inventory=inventory)


def _expand(
    loaded: LoadedConfig, *, lineage: str, inventory: InventoryFn
) -> tuple[Desired, list[Diagnostic]]:
    cfg = loaded.config
    errors = _Errors()
    diags: list[Diagnostic] = []
    used: set[str] = {"qemu", "scaleway"} if cfg.migrations else set()
    patterns: dict[str, set[str]] = {}
    for name, mig in cfg.migrations.items():
        prov = mig.source.provider
        if prov not in cfg.providers and prov not in BUILTIN_PROVIDERS:
            errors.add(
                loaded.pos(("migrations", name, "source", "provider")),
                f"source provider {prov!r} is not declared under `providers:`"
                + did_you_mean(prov, cfg.providers),
            )
            continue
        if mig.target.type is None:
            errors.add(
                loaded.key_pos(("migrations", name)),
                f"migration {name!r} has no target.type (e.g. PRO2-S); set it here "
                "or under defaults.target",
            )
        used.add(prov)
        patterns.setdefault(prov, set()).add(mig.source.vm)
    errors.raise_if_any()
    providers = provider_blocks(loaded, used)

    facts: dict[str, dict[str, list[VMFacts]]] = {}
    for prov in sorted(patterns):
        resp = inventory(prov, tuple(sorted(patterns[prov])))
        diags.extend(resp.diagnostics)
        by_name: dict[str, list[VMFacts]] = {}
        for vm in resp.vms:
            by_name.setdefault(vm.name, []).append(vm)
        facts[prov] = by_name

    bucket = _bucket(providers, lineage)
    specs: list[tuple[Spec, Instance, SourcePos]] = []
    owner: dict[tuple[str, str], str] = {}
    source_digests: dict[str, str] = {}
    for name in sorted(cfg.migrations):
        mig = cfg.migrations[name]
        pos = loaded.key_pos(("migrations", name))
        vm_pos = loaded.pos(("migrations", name, "source", "vm"))
        known = facts.get(mig.source.provider, {})
        matched = _match(mig, known)
        wildcard = is_glob(mig.source.vm)
        if not matched:
            what = "pattern" if wildcard else "VM"
            hint = did_you_mean(mig.source.vm, known) or " (list them with `v2s inventory`)"
            errors.add(
                vm_pos,
                f"{what} {mig.source.vm!r} matches no VM of provider {mig.source.provider!r}{hint}",
            )
            continue
        twins = [vm.name for vm in matched if len(known[vm.name]) > 1]
        if twins:
            errors.add(
                vm_pos,
                f"{len(known[twins[0]])} VMs are named {twins[0]!r}; rename one in vCenter "
                "(addresses and snapshots are keyed by VM name)",
            )
            continue
        for vm in matched:
            inst = Instance(name, vm.name if wildcard else None, vm, mig)
            claim = (mig.source.provider, vm.name)
            if claim in owner:
                errors.add(
                    vm_pos, f"VM {vm.name!r} is already migrated by migration.{owner[claim]}"
                )
                continue
            owner[claim] = inst.instance
            if not vm.disks:
                errors.add(vm_pos, f"VM {vm.name!r} has no disks to migrate")
                continue
            nets = _nics(inst, errors, pos)
            source_digests[vm.name] = vm.change_version
            for spec in build_chain(
                inst,
                lineage=lineage,
                source_provider=mig.source.provider,
                bucket=bucket,
                private_networks=nets,
            ):
                specs.append((spec, inst, pos))
    errors.raise_if_any()

    with_refs = {p[1] for p in loaded.template_paths if p[0] in ("migrations", "defaults")}
    if any(p[0] == "defaults" for p in loaded.template_paths):
        with_refs = set(cfg.migrations)
    resources: dict[str, DesiredResource] = {}
    for spec, inst, pos in specs:
        # chain references are the chain edges; only user templates add more
        refs = (
            {addr for addr, _ in references(spec.attributes)} if inst.name in with_refs else set()
        )
        kept = spec.type not in TRANSIENT_TYPES
        # built from validated parts: skip re-validation (7,000+ resources per plan)
        resources[spec.address] = DesiredResource.model_construct(
            address=spec.address,
            type=spec.type,
            provider=spec.provider,
            attributes=spec.attributes,
            depends_on=frozenset(spec.chain) | refs,
            transient=not kept,
            migration=inst.instance,
            priority=inst.mig.priority,
            prevent_destroy=inst.mig.prevent_destroy and kept,
            pos=pos,
        )
    _check_references(loaded, resources, errors)
    errors.raise_if_any()

    outputs = {
        name: {"value": out.value, "description": out.description, "sensitive": out.sensitive}
        for name, out in cfg.outputs.items()
    }
    desired = Desired(
        resources=resources,
        providers=providers,
        outputs=outputs,
        limits=dict(cfg.settings.limits),
        config_digest=_digest(loaded, providers),
        source_digests=dict(sorted(source_digests.items())),
    )
    return desired, diags


def static_inventory(vms: Iterable[VMFacts]) -> InventoryFn:
    """An inventory hook serving a fixed list of VMs (tests, ``v2s validate`` offline)."""
    pool = tuple(vms)

    def inventory(provider: str, patterns: tuple[str, ...]) -> InventoryResponse:
        exact = {p for p in patterns if not is_glob(p)}
        globs = [p for p in patterns if is_glob(p)]
        chosen = [
            vm
            for vm in pool
            if not patterns
            or vm.name in exact
            or any(fnmatch.fnmatchcase(vm.name, p) for p in globs)
        ]
        return InventoryResponse(vms=tuple(chosen))

    return inventory


__all__ = [
    "PROVIDER_OF",
    "SOURCE_TYPES",
    "InventoryFn",
    "expand",
    "is_glob",
    "provider_blocks",
    "static_inventory",
]
