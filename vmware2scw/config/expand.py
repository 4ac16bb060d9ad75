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

from pydantic import ValidationError

from vmware2scw.config.compose import Bound, Instance, choose_blueprint, compose
from vmware2scw.config.interpolate import TemplateError, iter_strings, references
from vmware2scw.config.loader import LoadedConfig, YPath
from vmware2scw.config.model import BACKEND_SECRETS, Config, MigrationConfig
from vmware2scw.config.patterns import bracket_hint, is_glob, name_filter
from vmware2scw.config.roles import SECTION, PluginFn, RoleBinder, default_plugins
from vmware2scw.config.suggest import did_you_mean, nearest
from vmware2scw.config.validation import dotted
from vmware2scw.desired import Desired, DesiredResource, ProviderBlock
from vmware2scw.diagnostics import Diagnostic, Severity, SourcePos
from vmware2scw.errors import ConfigError
from vmware2scw.gcpause import paused_gc
from vmware2scw.provider import Blueprint, InventoryResponse, ResourceSpec, ResourceType, VMFacts

InventoryFn = Callable[[str, tuple[str, ...]], InventoryResponse]
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
MASK = "(sensitive)"


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
    loaded: LoadedConfig, resources: dict[str, DesiredResource], errors: _Errors,
    schemas: dict[str, ResourceType],
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
            _check_reference(loaded, path, address, attr, types_by_addr, errors, schemas)


def _check_reference(
    loaded: LoadedConfig,
    path: YPath,
    address: str,
    attr: str,
    types_by_addr: dict[str, str],
    errors: _Errors,
    schemas: dict[str, ResourceType],
) -> None:
    where = loaded.source.pos(path)
    type_ = types_by_addr.get(address)
    if type_ is None:
        near = nearest(address, types_by_addr)
        hint = f"; the nearest existing address is {near}" if near else "; no resources exist"
        errors.add(where, f"reference to {address}.{attr}: no such resource{hint}")
        return
    head = attr.split(".", 1)[0].split("[", 1)[0]
    schema = schemas.get(type_)
    known = sorted(schema.attribute_names()) if schema is not None else []
    if known and head not in known:
        errors.add(
            where,
            f"reference to {address}.{attr}: {type_} has no attribute {head!r}"
            + did_you_mean(head, known),
        )


def _digest(loaded: LoadedConfig, providers: dict[str, ProviderBlock]) -> str:
    data = loaded.config.model_dump(mode="json")
    data["settings"].pop("executor", None)  # where the work runs is not what a plan does
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


def expand(
    loaded: LoadedConfig, *, lineage: str, inventory: InventoryFn, plugins: PluginFn | None = None
) -> tuple[Desired, list[Diagnostic]]:
    """Expand migrations into resources; raise ConfigError listing every problem found.

    ``plugins`` gives an unconfigured plug-in by name (default: the installed entry points);
    they bind roles and compose each migration's blueprint.
    """
    with paused_gc():
        return _Expander(loaded, lineage, inventory, plugins or default_plugins()).run()


class _Expander:
    """The working set of one expansion."""

    def __init__(
        self, loaded: LoadedConfig, lineage: str, inventory: InventoryFn, plugins: PluginFn
    ) -> None:
        self.loaded = loaded
        self.lineage = lineage
        self.inventory = inventory
        self.errors = _Errors()
        self.diags: list[Diagnostic] = []
        declared = {n: str((raw or {}).get("source") or n)
                    for n, raw in loaded.config.providers.items()}
        self.binder = RoleBinder(declared, plugins)
        self.roles: dict[str, dict[str, str]] = {}  # migration -> role -> local name
        self.schemas: dict[str, ResourceType] = {}

    def _plugin(self, local: str) -> Any:
        try:
            return self.binder.plugin_of(local)
        except ConfigError as exc:
            pos = self.loaded.pos(("providers", local, "source")) if (
                local in self.loaded.config.providers) else self.loaded.pos(())
            self.errors.add(pos, exc.message + (f" ({exc.hint})" if exc.hint else ""))
            return None

    def _bind(self, name: str, mig: MigrationConfig) -> dict[str, str] | None:
        out: dict[str, str] = {}
        explicit = {"source": mig.source.provider, "converter": mig.convert.provider,
                    "target": mig.target.provider}
        for role in ("source", "converter", "target"):
            given = explicit[role]
            where = (self.loaded.pos(("migrations", name, SECTION[role], "provider"))
                     if given is not None else self.loaded.key_pos(("migrations", name)))
            try:
                local = self.binder.bind(role, given)
            except ConfigError as exc:
                self.errors.add(where, exc.message)
                return None
            if self._plugin(local) is None:
                return None
            out[role] = local
        return out

    def _check_settings(self, local: str) -> None:
        """Unknown or mistyped provider settings, located like every other config error
        (missing ones are left to the provider: they may come from the environment)."""
        plugin = self.binder.plugin_of(local)
        model = getattr(plugin, "settings_model", None)
        raw = {k: v for k, v in (self.loaded.config.providers.get(local) or {}).items()
               if k != "source"}
        if model is None:
            return
        try:
            model.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                if err["type"] == "missing":
                    continue
                loc = ("providers", local, *err["loc"])
                if err["type"] == "extra_forbidden":
                    key = str(loc[-1])
                    known = list(model.model_fields) if len(loc) == 3 else []
                    self.errors.add(self.loaded.key_pos(loc),
                                    f"unknown {plugin.name} provider setting {key!r} in "
                                    f"{dotted(loc[:-1])}" + did_you_mean(key, known))
                else:  # the message only: a setting's value may be a secret
                    msg = str(err["msg"]).removeprefix("Value error, ")
                    self.errors.add(self.loaded.pos(loc), f"{dotted(loc)}: {msg}")

    def run(self) -> tuple[Desired, list[Diagnostic]]:
        cfg, loaded, errors = self.loaded.config, self.loaded, self.errors
        used: set[str] = set()
        patterns: dict[str, set[str]] = {}
        for name, mig in cfg.migrations.items():
            bound = self._bind(name, mig)
            if bound is None:
                continue
            self.roles[name] = bound
            used.update(bound.values())
            patterns.setdefault(bound["source"], set()).add(mig.source.vm)
        for local in sorted(cfg.providers):
            self._check_settings(local)
        errors.raise_if_any()
        providers = provider_blocks(loaded, used)

        facts: dict[str, dict[str, list[VMFacts]]] = {}
        for prov in sorted(patterns):
            resp = self.inventory(prov, tuple(sorted(patterns[prov])))
            self.diags.extend(resp.diagnostics)
            by_name: dict[str, list[VMFacts]] = {}
            for vm in resp.vms:
                by_name.setdefault(vm.name, []).append(vm)
            facts[prov] = by_name

        specs: list[tuple[ResourceSpec, str, Instance, SourcePos]] = []
        owner: dict[tuple[str, str], str] = {}
        source_digests: dict[str, str] = {}
        for name in sorted(cfg.migrations):
            if name in self.roles:
                specs.extend(self._migration(name, providers, facts, owner, source_digests))
        errors.raise_if_any()
        resources = self._resources(specs)
        _check_references(loaded, resources, errors, self.schemas)
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
        return desired, self.diags

    def _migration(
        self, name: str, providers: dict[str, ProviderBlock],
        facts: dict[str, dict[str, list[VMFacts]]], owner: dict[tuple[str, str], str],
        source_digests: dict[str, str],
    ) -> list[tuple[ResourceSpec, str, Instance, SourcePos]]:
        loaded, errors = self.loaded, self.errors
        mig = loaded.config.migrations[name]
        roles = self.roles[name]
        pos = loaded.key_pos(("migrations", name))
        vm_pos = loaded.pos(("migrations", name, "source", "vm"))
        bound = {role: Bound(local, self.binder.plugin_of(local),
                             _public(providers[local])) for role, local in roles.items()}
        blueprint = choose_blueprint(bound["target"].plugin, mig.transport, mig.mode)
        if not isinstance(blueprint, Blueprint):
            field = "transport" if mig.transport is not None else "mode"
            where = loaded.pos(("migrations", name, field)) if (
                mig.transport is not None or mig.mode is not None) else pos
            errors.add(where, blueprint)
            return []
        known = facts.get(roles["source"], {})
        matched = _match(mig, known)
        wildcard = is_glob(mig.source.vm)
        if not matched:
            what = "pattern" if wildcard else "VM"
            hint = (bracket_hint(mig.source.vm, known) if wildcard else "") or did_you_mean(
                mig.source.vm, known) or " (list them with `v2s inventory`)"
            errors.add(vm_pos, f"{what} {mig.source.vm!r} matches no VM of provider "
                               f"{roles['source']!r}{hint}")
            return []
        if wildcard and mig.source.vm in known and all(vm.name != mig.source.vm for vm in matched):
            self.diags.append(Diagnostic(
                severity=Severity.WARNING, pos=vm_pos, address=f"migration.{name}",
                summary=f"pattern {mig.source.vm!r} does not match the VM of that very name"
                + bracket_hint(mig.source.vm, known)))
        twins = [vm.name for vm in matched if len(known[vm.name]) > 1]
        if twins:
            errors.add(vm_pos, f"{len(known[twins[0]])} VMs are named {twins[0]!r}; rename one "
                               "in vCenter (addresses and snapshots are keyed by VM name)")
            return []
        data = mig.model_dump(mode="json")
        out: list[tuple[ResourceSpec, str, Instance, SourcePos]] = []
        for vm in matched:
            inst = Instance(name, vm.name if wildcard else None, vm, mig)
            claim = (roles["source"], vm.name)
            if claim in owner:
                errors.add(vm_pos, f"VM {vm.name!r} is already migrated by "
                                   f"migration.{owner[claim]}")
                continue
            owner[claim] = inst.instance
            if not vm.disks:
                errors.add(vm_pos, f"VM {vm.name!r} has no disks to migrate")
                continue
            source_digests[vm.name] = vm.change_version
            composed, problems = compose(inst, blueprint, bound, self.lineage, data)
            for problem in problems:
                where = (loaded.pos(("migrations", name, *problem.path)) if problem.path
                         else pos)
                errors.add(where, problem.message)
            out.extend((spec, local, inst, pos) for spec, local in composed)
        return out

    def _resources(
        self, specs: list[tuple[ResourceSpec, str, Instance, SourcePos]]
    ) -> dict[str, DesiredResource]:
        cfg = self.loaded.config
        template_paths = self.loaded.template_paths
        with_refs = {p[1] for p in template_paths if p[0] in ("migrations", "defaults")}
        if any(p[0] == "defaults" for p in template_paths):
            with_refs = set(cfg.migrations)
        types: dict[tuple[str, str], ResourceType | None] = {}
        resources: dict[str, DesiredResource] = {}
        for spec, local, inst, pos in specs:
            key = (local, spec.type)
            if key not in types:
                types[key] = self.binder.plugin_of(local).resource_types().get(spec.type)
                if types[key] is not None:
                    self.schemas.setdefault(spec.type, types[key])  # type: ignore[arg-type]
            rtype = types[key]
            # chain references are the chain edges; only user templates add more
            refs = ({addr for addr, _ in references(spec.attributes)}
                    if inst.name in with_refs else set())
            kept = rtype is None or not rtype.transient
            # built from validated parts: skip re-validation (7,000+ resources per plan)
            resources[spec.address] = DesiredResource.model_construct(
                address=spec.address,
                type=spec.type,
                provider=local,
                attributes=spec.attributes,
                depends_on=frozenset(spec.depends_on) | refs,
                transient=not kept,
                migration=inst.instance,
                priority=inst.mig.priority,
                prevent_destroy=inst.mig.prevent_destroy and kept,
                pos=pos,
            )
        return resources


def _public(block: ProviderBlock) -> dict[str, Any]:
    """A block's settings without the values that hold secrets (for composing)."""
    hidden = {_split(p)[0] for p in block.sensitive_paths}
    return {k: v for k, v in block.settings.items() if k not in hidden}


def static_inventory(vms: Iterable[VMFacts]) -> InventoryFn:
    """An inventory hook serving a fixed list of VMs (tests, ``v2s validate`` offline)."""
    pool = tuple(vms)

    def inventory(provider: str, patterns: tuple[str, ...]) -> InventoryResponse:
        wanted = name_filter(patterns)
        return InventoryResponse(vms=tuple(vm for vm in pool if wanted(vm.name)))

    return inventory


__all__ = [
    "InventoryFn",
    "expand",
    "is_glob",
    "provider_blocks",
    "static_inventory",
]
