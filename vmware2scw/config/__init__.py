"""The desired-state file: load (YAML, variables, validation) and expand (resources).

loaded = load("v2s.yaml", var_args=["zone=fr-par-2"])
desired, diagnostics = expand(loaded, lineage=state.lineage, inventory=hook)
"""

from __future__ import annotations

from vmware2scw.config.expand import InventoryFn, expand, provider_blocks, static_inventory
from vmware2scw.config.loader import LoadedConfig, load, loads
from vmware2scw.config.model import Config
from vmware2scw.config.schema import json_schema
from vmware2scw.errors import ConfigError

__all__ = [
    "Config",
    "ConfigError",
    "InventoryFn",
    "LoadedConfig",
    "expand",
    "json_schema",
    "load",
    "loads",
    "provider_blocks",
    "static_inventory",
]
