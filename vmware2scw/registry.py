"""Provider plug-ins: found through the ``vmware2scw.providers`` entry points, configured once."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from vmware2scw.desired import ProviderBlock
from vmware2scw.diagnostics import Diagnostic
from vmware2scw.errors import ConfigError, ProviderError, V2SError
from vmware2scw.provider import (
    ConfigureRequest,
    InventoryRequest,
    InventoryResponse,
    Provider,
    SourceProvider,
)
from vmware2scw.workdir import private_dir

GROUP = "vmware2scw.providers"
DEFAULTS_GROUP = "vmware2scw.default_roles"  # plug-in name -> the roles it plays by default


def available() -> list[str]:
    """Names of the installed provider plug-ins."""
    return sorted({ep.name for ep in entry_points(group=GROUP)})


def default_for(role: str) -> list[str]:
    """Installed plug-ins that play ``role`` when a config binds none (light: no provider
    module is imported, only the entry point's package constant)."""
    found = []
    for ep in entry_points(group=DEFAULTS_GROUP):
        try:
            roles = ep.load()
        except ImportError:
            continue
        if role in roles:
            found.append(ep.name)
    return sorted(found)


def instantiate(source: str) -> Provider:
    """A fresh, unconfigured instance of the plug-in named ``source``."""
    found = [ep for ep in entry_points(group=GROUP) if ep.name == source]
    if not found:
        names = available()
        close = difflib.get_close_matches(source, names, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"installed: {', '.join(names)}"
        raise ConfigError(f"no provider plug-in named {source!r}", hint=hint)
    try:
        cls: Any = found[0].load()
    except ImportError as exc:
        raise V2SError(f"provider plug-in {source!r} cannot be imported: {exc}",
                       hint="reinstall v2s (`pip install -e .`) so the plug-in is on the path"
                       ) from None
    provider: Provider = cls()
    return provider


def block_from_settings(local_name: str, raw: Mapping[str, Any] | None) -> ProviderBlock:
    """A ProviderBlock from a raw ``providers:`` entry (``source:`` names the plug-in)."""
    settings = {k: v for k, v in (raw or {}).items() if k != "source"}
    source = str((raw or {}).get("source") or local_name)
    return ProviderBlock(local_name=local_name, source=source, settings=settings)


class Registry:
    """Configured providers of one run, by local name; each configured at most once."""

    def __init__(self, lineage: str, work_dir: Path) -> None:
        self.lineage = lineage
        self.work_dir = work_dir
        self.providers: dict[str, Provider] = {}
        self.diagnostics: list[Diagnostic] = []

    def get(self, block: ProviderBlock) -> Provider:
        """The provider serving ``block.local_name``, configured with its settings."""
        if block.local_name in self.providers:
            return self.providers[block.local_name]
        provider = instantiate(block.source)
        work = private_dir(private_dir(self.work_dir) / "providers")
        try:
            resp = provider.configure(ConfigureRequest(
                settings=block.settings, lineage=self.lineage,
                work_dir=private_dir(work / block.local_name)))
        except ProviderError as exc:
            raise ProviderError(f"provider {block.local_name!r}: {exc.message}",
                                address=exc.address, hint=exc.hint) from None
        except ValidationError as exc:  # settings: name the field, never echo the value
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ConfigError(f"providers.{block.local_name}.{where}: {first['msg']}",
                              hint=f"see the {block.source} provider's documentation") from None
        self.diagnostics.extend(resp.diagnostics)
        self.providers[block.local_name] = provider
        return provider

    def load(self, blocks: Mapping[str, ProviderBlock]) -> dict[str, Provider]:
        """Every provider of ``blocks``, configured."""
        return {name: self.get(block) for name, block in sorted(blocks.items())}

    def inventory(self, block: ProviderBlock, patterns: tuple[str, ...]) -> InventoryResponse:
        """Ask a source provider for the VMs matching ``patterns`` (one batched call)."""
        provider = self.get(block)
        if not isinstance(provider, SourceProvider):
            raise ConfigError(f"provider {block.local_name!r} ({block.source}) cannot list VMs",
                              hint="use a source provider such as vmware (or test)")
        return provider.inventory(InventoryRequest(patterns=patterns))

    def close(self) -> None:
        """Close every configured provider (errors ignored: the run is over)."""
        for provider in self.providers.values():
            try:
                provider.close()
            except Exception:  # noqa: S112 - closing is best effort
                continue


def load_providers(
    blocks: Mapping[str, ProviderBlock], lineage: str, work_dir: Path
) -> dict[str, Provider]:
    """Instantiate and configure every provider of ``blocks`` (the engine contract's entry)."""
    return Registry(lineage, work_dir).load(blocks)
