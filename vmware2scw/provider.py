"""The provider protocol (DESIGN §5): one frozen request and one response per verb.

Providers are plug-ins registered in the ``vmware2scw.providers`` entry-point
group; the engine imports none of them. Failure contracts, per verb:

- ``read``: never creates anything; an object that is gone reads as ``None``.
- ``plan``: pure, no side effects; may use facts cached by ``read``/``inventory``.
- ``apply``: on failure (an exception) the object must not exist, or it must be
  findable by its tags (lineage + address) so the next run adopts it. Long work
  saves checkpoints through ``ctx.checkpoint`` so a rerun resumes inside it.
- ``delete``: on failure the object still exists (the walker keeps it in state).

Errors are raised as :class:`vmware2scw.errors.ProviderError` (or its subclass
``TransientError`` when a retry may help); warnings travel in ``diagnostics``.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from vmware2scw.diagnostics import Diagnostic

Attrs = dict[str, Any]
PRICE_ATTRIBUTE = "monthly_price"  # a planned new object's €/month, summed by the plan


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class ResourceType(_Frozen):
    """What the engine must know about one resource type."""

    name: str
    transient: bool = False
    kind: str = "api"  # concurrency class: export | convert | upload | api | ...
    force_new: frozenset[str] = frozenset()  # top-level attributes whose change forces replace
    computed: frozenset[str] = frozenset()  # attributes only known after apply
    sensitive: frozenset[str] = frozenset()  # never stored, never shown
    create_before_destroy: bool = False
    # destroy calls ``delete`` on a tombstone too (its cleanup left work to undo, e.g.
    # powering a cold-cutover source VM back on); otherwise only the record is dropped
    delete_tombstone_on_destroy: bool = False
    config_model: type[BaseModel] | None = None  # desired attributes, for validation and schemas
    attributes: frozenset[str] = frozenset()  # desired attributes when there is no config_model
    stage: str = ""  # the run report's stage (snapshot, export, convert, upload, ...)
    size_attribute: str = ""  # the attribute holding the bytes an apply moved (report)
    changes_attribute: str = ""  # a list of what was changed in the guest (report)
    summary_attributes: tuple[str, ...] = ()  # what the report shows of the result (report)

    def attribute_names(self) -> frozenset[str]:
        """Every attribute a reference may name: desired (model or list) and computed."""
        model = frozenset(self.config_model.model_fields) if self.config_model else frozenset()
        return model | self.attributes | self.computed


# --- configure -------------------------------------------------------------------------------


class ConfigureRequest(_Frozen):
    """Provider settings after interpolation (may hold secrets: never persist them)."""

    settings: Attrs
    lineage: str
    work_dir: Path


class ConfigureResponse(_Frozen):
    diagnostics: tuple[Diagnostic, ...] = ()


# --- inventory (source providers only) -------------------------------------------------------


class DiskFacts(_Frozen):
    key: int
    label: str
    capacity_bytes: int
    file: str = ""  # backing file, "[datastore] folder/name.vmdk"
    datastore: str = ""
    thin: bool = False
    controller: str = ""  # e.g. "pvscsi", "lsilogic", "sata", "ide", "nvme"
    mode: str = "persistent"  # persistent | independent_persistent | independent_nonpersistent
    sharing: str = "sharingNone"
    rdm: bool = False
    encrypted: bool = False


class NicFacts(_Frozen):
    mac: str
    adapter: str = ""  # vmxnet3 | e1000 | e1000e | ...
    network: str = ""  # port group name
    connected: bool = True
    ips: tuple[str, ...] = ()


class VMFacts(_Frozen):
    """Everything v2s needs to know about one source VM, read in one batch."""

    name: str
    instance_uuid: str = ""
    moref: str = ""
    num_cpus: int = 1
    memory_mb: int = 1024
    guest_id: str = ""
    guest_family: str = "linux"  # linux | windows | other
    firmware: str = "bios"  # bios | efi
    secure_boot: bool = False
    power_state: str = "poweredOn"
    host: str = ""
    cluster: str = ""
    datastores: tuple[str, ...] = ()
    disks: tuple[DiskFacts, ...] = ()
    nics: tuple[NicFacts, ...] = ()
    snapshots: tuple[str, ...] = ()
    tools_status: str = ""
    change_version: str = ""
    features: tuple[str, ...] = ()  # e.g. "pci_passthrough", "vgpu", "vtpm", "encrypted"


class InventoryRequest(_Frozen):
    patterns: tuple[str, ...] = ()  # fnmatch globs on VM names; empty = all


class InventoryResponse(_Frozen):
    vms: tuple[VMFacts, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()


# --- roles and blueprints (DESIGN §12) ---------------------------------------------------------

ROLES = ("source", "converter", "target")  # what a provider block may be bound to


class BlueprintStep(_Frozen):
    """One step of a blueprint: the provider bound to ``role`` composes ``phase``."""

    role: str
    phase: str


class Blueprint(_Frozen):
    """A migration's resource shape for one transport and mode: steps in data-flow order."""

    transport: str
    mode: str
    steps: tuple[BlueprintStep, ...]
    description: str = ""


class Handoff(_Frozen):
    """What one step passes to the next: per disk, ``${address.attr}`` references."""

    disks: tuple[Attrs, ...] = ()
    after: tuple[str, ...] = ()  # addresses every resource of the next step depends on


class ResourceSpec(_Frozen):
    """One resource a step composes (attributes may hold ``${address.attr}`` templates)."""

    address: str
    type: str
    attributes: Attrs
    depends_on: tuple[str, ...] = ()


class ConfigProblem(_Frozen):
    """A refused migration setting; ``path`` is relative to the migration (``target.name``)."""

    path: tuple[str | int, ...]
    message: str


class ComposeRequest(_Frozen):
    """Compose one step of one migration instance (pure: no remote call)."""

    role: str
    phase: str
    blueprint: Blueprint
    name: str  # the migration's name in the config (``web-01``, or ``app`` for app["app-03"])
    module: str  # ``migration.web-01``: every address of the instance starts with it
    label: str  # path-safe instance name for object keys: ``web-01`` or ``app/app-03``
    lineage: str
    vm: VMFacts
    migration: Attrs  # the migration block (source, target, cutover, convert, verify)
    settings: Attrs  # the bound provider block's settings, secrets left out
    upstream: Handoff = Handoff()


class ComposeResponse(_Frozen):
    resources: tuple[ResourceSpec, ...] = ()
    handoff: Handoff = Handoff()
    problems: tuple[ConfigProblem, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()


# --- read / plan / apply / delete ------------------------------------------------------------


class ResourceRef(_Frozen):
    address: str
    type: str
    attributes: Attrs = Field(default_factory=dict)


class ReadRequest(_Frozen):
    resources: tuple[ResourceRef, ...]
    # the desired resources this provider will plan (attributes may hold templates): read
    # here whatever plan() needs (catalogues, prices), so planning stays pure
    planned: tuple[ResourceRef, ...] = ()


class ReadResponse(_Frozen):
    """Current attributes by address; ``None`` means the object is gone."""

    attributes: dict[str, Attrs | None] = Field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()


class PlanRequest(_Frozen):
    address: str
    type: str
    prior: Attrs | None  # None: not in state
    desired: Attrs  # config attributes; values at desired_unknown paths are None for now
    desired_unknown: tuple[str, ...] = ()


class PlanResponse(_Frozen):
    planned: Attrs
    unknown: tuple[str, ...] = ()  # attribute paths known only after apply
    # changed paths that force a replace for a reason the schema cannot say; the planner
    # itself replaces on any change of a force_new attribute (one rule, ResourceType)
    replace_paths: tuple[str, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()


class ApplyRequest(_Frozen):
    address: str
    type: str
    prior: Attrs | None
    planned: Attrs  # fully known now: references resolved by the walker
    checkpoint: Attrs | None = None  # what an interrupted earlier apply saved


class ApplyResponse(_Frozen):
    attributes: Attrs
    diagnostics: tuple[Diagnostic, ...] = ()


class DeleteRequest(_Frozen):
    address: str
    type: str
    prior: Attrs
    checkpoint: Attrs | None = None


class DeleteResponse(_Frozen):
    diagnostics: tuple[Diagnostic, ...] = ()


@runtime_checkable
class ApplyContext(Protocol):
    """What the walker gives a provider while it applies or deletes one resource."""

    address: str
    lineage: str
    work_dir: Path  # private to this resource, mode 0700
    cancelled: threading.Event  # set on the second Ctrl-C: stop soon, leave a checkpoint
    operation: str  # apply | destroy | cleanup (a used transient deleted after its chain)

    @property
    def tags(self) -> tuple[str, ...]:
        """Tags every created cloud object must carry: ``v2s-lineage=…``, ``v2s-address=…``."""
        ...

    def progress(
        self, phase: str, done: int | None = None, total: int | None = None, message: str = ""
    ) -> None:
        """Report progress (bytes when ``total`` is a byte count)."""
        ...

    def checkpoint(self, data: Attrs) -> None:
        """Persist resume data in state now (replaces the previous checkpoint)."""
        ...


class Provider(Protocol):
    """A back end. Instantiated once per run, then ``configure``-d."""

    name: str
    settings_model: type[BaseModel] | None  # the provider block's settings (schemas, errors)
    roles: frozenset[str]  # the ROLES this plug-in can play (defaults: registry.default_for)

    def resource_types(self) -> Mapping[str, ResourceType]:
        """The resource types this provider manages, by type name."""
        ...

    def blueprints(self) -> tuple[Blueprint, ...]:
        """The blueprints a target offers (first: the default); other roles return ()."""
        ...

    def compose(self, req: ComposeRequest) -> ComposeResponse:
        """The resources of one blueprint step of one migration instance; pure."""
        ...

    def configure(self, req: ConfigureRequest) -> ConfigureResponse:
        """Check settings and open sessions lazily; no cloud object is created."""
        ...

    def read(self, req: ReadRequest) -> ReadResponse:
        """Batched refresh of many resources (one round trip per type, not per resource)."""
        ...

    def plan(self, req: PlanRequest) -> PlanResponse:
        """Planned new attributes, unknowns and replace paths; pure."""
        ...

    def apply(self, req: ApplyRequest, ctx: ApplyContext) -> ApplyResponse:
        """Create or update; raise ProviderError/TransientError on failure (see module doc)."""
        ...

    def delete(self, req: DeleteRequest, ctx: ApplyContext) -> DeleteResponse:
        """Delete; a failure means the object still exists."""
        ...

    def close(self) -> None:
        """Release sessions (log out)."""
        ...


@runtime_checkable
class SourceProvider(Provider, Protocol):
    """A provider that can list source VMs (fills wildcards and `v2s inventory`)."""

    def inventory(self, req: InventoryRequest) -> InventoryResponse:
        """All VMs matching the patterns, read in one batch."""
        ...


@runtime_checkable
class StarterSource(Protocol):
    """A source provider that writes a starter ``migrations:`` block (`v2s inventory --yaml`)."""

    def starter_yaml(self, vms: Sequence[VMFacts], catalogue: Mapping[str, Any] | None) -> str:
        """YAML for these VMs; ``catalogue`` (instance type -> facts) picks types when given."""
        ...


@runtime_checkable
class CatalogueProvider(Protocol):
    """A target provider whose instance catalogue can suggest types."""

    def catalogue_map(self) -> Mapping[str, Any]:
        """Instance type name -> ncpus, ram, arch, prices (read on demand)."""
        ...


def lineage_tags(lineage: str, address: str) -> tuple[str, ...]:
    """The tags that name a cloud object's owner state and address."""
    return (f"v2s-lineage={lineage}", f"v2s-address={address}")


# --- hand-off to infrastructure as code (optional capability) --------------------------------


class Expr(_Frozen):
    """A raw expression in the target language (e.g. a reference ``type.name.id``)."""

    text: str


class IacResource(_Frozen):
    """One resource of the hand-off: its type, name, arguments and import ID.

    Argument values are str, int, float, bool, lists, dicts or :class:`Expr`; ``blocks``
    are nested blocks in order (``("root_volume", {...})``, ``("lifecycle", {...})``).
    """

    type: str
    name: str
    arguments: Attrs = Field(default_factory=dict)
    blocks: tuple[tuple[str, Attrs], ...] = ()
    import_id: str  # what `import { id = ... }` takes
    address: str  # the v2s record this object belongs to
    comment: str = ""


class HandoffRecord(_Frozen):
    """One state record to hand off and the identifier its resources are named after."""

    address: str
    type: str
    attributes: Attrs
    migration: str
    name: str  # a valid identifier derived from the migration key, unique in the hand-off


class HandoffRequest(_Frozen):
    records: tuple[HandoffRecord, ...]
    lineage: str


class HandoffResponse(_Frozen):
    required_providers: dict[str, dict[str, str]] = Field(default_factory=dict)
    resources: tuple[IacResource, ...] = ()
    notes: tuple[str, ...] = ()  # provider-specific steps for the README (credentials, ...)
    diagnostics: tuple[Diagnostic, ...] = ()


@runtime_checkable
class HandoffProvider(Provider, Protocol):
    """A provider that can describe what it created as Terraform resources with imports.

    Failure contract: read-only (never creates, changes or deletes anything); an object
    that is gone raises ProviderError naming the record's address.
    """

    def handoff_types(self) -> frozenset[str]:
        """Resource types whose records are a migration's result (what can be handed off)."""
        ...

    def handoff(self, req: HandoffRequest) -> HandoffResponse:
        """Read the objects behind the records; describe each with exactly one import ID."""
        ...
