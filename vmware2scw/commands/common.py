"""What every command shares: exit codes, the run session (config, state, providers), output."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from vmware2scw import __version__
from vmware2scw.config import LoadedConfig, expand, load
from vmware2scw.desired import Desired, ProviderBlock
from vmware2scw.diagnostics import Diagnostic, Severity
from vmware2scw.errors import ConfigError
from vmware2scw.graph import build_graph, check_acyclic
from vmware2scw.provider import InventoryResponse, Provider
from vmware2scw.registry import Registry, block_from_settings
from vmware2scw.state.backend import Backend, from_config
from vmware2scw.state.manager import StateManager
from vmware2scw.state.model import State
from vmware2scw.workdir import private_dir

# Exit codes (docs/cli.md).
OK = 0
ERROR = 1
CHANGES = 2  # plan --detailed-exitcode: changes pending
LOCKED = 3
STALE_PLAN = 4
PARTIAL = 5  # apply/destroy: some resources failed (state saved)
INTERNAL = 70
INTERRUPTED = 130


OFFLINE_LINEAGE = "00000000-0000-0000-0000-000000000000"  # commands that never touch state


@dataclass
class Globals:
    """Options given before the sub-command."""

    config: Path = Path("v2s.yaml")
    no_color: bool = False


GLOBALS = Globals()


def out(text: str = "", *, err: bool = False) -> None:
    """Print a line to stdout (or stderr) without any markup processing."""
    stream = sys.stderr if err else sys.stdout
    stream.write(text if text.endswith("\n") else text + "\n")
    stream.flush()


def print_diagnostics(diags: list[Diagnostic] | tuple[Diagnostic, ...]) -> None:
    """Warnings and errors on stderr, one paragraph each."""
    for d in diags:
        if d.severity is not Severity.INFO:
            out(str(d), err=True)


def interactive() -> bool:
    """True when a human can answer a prompt."""
    return sys.stdin.isatty() and os.environ.get("V2S_NONINTERACTIVE", "") == ""


def confirm(question: str, auto_approve: bool, flag: str = "-auto-approve") -> bool:
    """Ask for 'yes' (or require ``flag`` when nobody can answer)."""
    if auto_approve:
        return True
    if not interactive():
        raise ConfigError("refusing to change anything without confirmation in a "
                          "non-interactive run", hint=f"pass {flag}")
    answer = str(typer.prompt(f"{question}\n  Only 'yes' will be accepted", default=""))
    return answer.strip() == "yes"


@dataclass
class Session:
    """The config, its state backend and providers, loaded once per command."""

    var_args: tuple[str, ...] = ()
    var_files: tuple[str, ...] = ()
    _loaded: LoadedConfig | None = None
    registry: Registry | None = None
    refreshed: State | None = None  # the state as refresh found it (set by planning)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def loaded(self) -> LoadedConfig:
        if self._loaded is None:
            self._loaded = load(GLOBALS.config, var_args=self.var_args,
                                var_files=self.var_files)
        return self._loaded

    @property
    def base_dir(self) -> Path:
        return self.loaded.base_dir

    @property
    def work_dir(self) -> Path:
        return private_dir(self.base_dir / self.loaded.config.settings.work_dir)

    def backend(self) -> Backend:
        block = self.loaded.config.backend
        raw = block.model_dump(exclude_none=True) if block is not None else None
        return from_config(raw, self.base_dir)

    def new_state(self, lineage: str | None = None) -> State:
        return State(lineage=lineage or str(uuid.uuid4()), v2s_version=__version__)

    def read_state(self, backend: Backend, lineage: str | None = None) -> State:
        return backend.read() or self.new_state(lineage)

    def block(self, local_name: str) -> ProviderBlock:
        raw = self.loaded.config.providers.get(local_name)
        return block_from_settings(local_name, raw)

    def open_registry(self, lineage: str) -> Registry:
        if self.registry is None:
            self.registry = Registry(lineage, self.work_dir)
        return self.registry

    def require(self, local_name: str) -> None:
        """Refuse to configure a provider whose settings use a secret that has no value."""
        self.loaded.require(("providers", local_name))

    def inventory(self, local_name: str, patterns: tuple[str, ...]) -> InventoryResponse:
        assert self.registry is not None
        self.require(local_name)
        return self.registry.inventory(self.block(local_name), patterns)

    def desired(self, lineage: str) -> Desired:
        """Expand the config (inventory through the source providers); check the graph."""
        self.open_registry(lineage)
        desired, diags = expand(self.loaded, lineage=lineage, inventory=self.inventory)
        self.diagnostics.extend(diags)
        check_acyclic(build_graph(desired))
        return desired

    def providers(self, desired: Desired) -> dict[str, Provider]:
        assert self.registry is not None
        for name in desired.providers:
            self.require(name)
        providers = self.registry.load(desired.providers)
        self.diagnostics.extend(self.registry.diagnostics)
        return providers

    def state_manager(self, backend: Backend, state: State,
                      providers: dict[str, Provider]) -> StateManager:
        sensitive: dict[str, list[str]] = {}
        for prov in providers.values():
            for name, rtype in prov.resource_types().items():
                if rtype.sensitive:
                    sensitive.setdefault(name, []).extend(sorted(rtype.sensitive))
        return StateManager(backend, sensitive=sensitive, state=state, v2s_version=__version__)

    def close(self) -> None:
        if self.registry is not None:
            self.registry.close()


@contextmanager
def session(var: list[str] | None = None, var_file: list[str] | None = None) -> Iterator[Session]:
    """A Session closed (providers logged out) at the end of the command."""
    s = Session(var_args=tuple(var or ()), var_files=tuple(var_file or ()))
    try:
        yield s
    finally:
        s.close()


def dump_json(data: Any) -> str:
    """Stable JSON text for --json outputs."""
    import json

    return json.dumps(data, indent=2, sort_keys=True, default=str)
