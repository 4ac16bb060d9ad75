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
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from vmware2scw.diagnostics import Diagnostic

Attrs = dict[str, Any]


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


# --- read / plan / apply / delete ------------------------------------------------------------


class ResourceRef(_Frozen):
    address: str
    type: str
    attributes: Attrs = Field(default_factory=dict)


class ReadRequest(_Frozen):
    resources: tuple[ResourceRef, ...]


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
    replace_paths: tuple[str, ...] = ()  # changed paths that force replacement
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
    settings_model: type[BaseModel] | None

    def resource_types(self) -> Mapping[str, ResourceType]:
        """The resource types this provider manages, by type name."""
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


def lineage_tags(lineage: str, address: str) -> tuple[str, ...]:
    """The tags that name a cloud object's owner state and address."""
    return (f"v2s-lineage={lineage}", f"v2s-address={address}")
