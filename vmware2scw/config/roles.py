"""Which provider block plays each role (source, converter, target) of a migration.

A migration may bind a role itself (``source.provider``, ``convert.provider``,
``target.provider``); otherwise, in this order: the one declared block whose plug-in
is the default for the role, the one declared block named like such a plug-in (a block
named after the converter plug-in but served by the test plug-in), or an implicit block
of the one installed default plug-in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache

from vmware2scw.config.suggest import did_you_mean
from vmware2scw.errors import ConfigError
from vmware2scw.provider import Provider
from vmware2scw.registry import available, default_for, instantiate

PluginFn = Callable[[str], Provider]  # plug-in name -> an unconfigured instance
SECTION = {"source": "source", "converter": "convert", "target": "target"}


def default_plugins() -> PluginFn:
    """Installed plug-ins through their entry points, one instance per name."""
    return cache(instantiate)


class RoleBinder:
    """Binds roles to provider local names for every migration of one config."""

    def __init__(self, declared: Mapping[str, str], plugins: PluginFn) -> None:
        self.declared = dict(declared)  # local name -> plug-in name
        self.plugins = plugins
        self._defaults: dict[str, list[str]] = {}

    def plugin_of(self, local: str) -> Provider:
        """The plug-in serving a local name (declared, or implicit when undeclared)."""
        return self.plugins(self.declared.get(local, local))

    def _installed_defaults(self, role: str) -> list[str]:
        if role not in self._defaults:
            self._defaults[role] = default_for(role)
        return self._defaults[role]

    def bind(self, role: str, explicit: str | None) -> str:
        """The local name playing ``role``; ConfigError (without position) when none can."""
        if explicit is not None:
            if explicit not in self.declared and explicit not in available():
                raise ConfigError(
                    f"{SECTION[role]} provider {explicit!r} is not declared under `providers:`"
                    + did_you_mean(explicit, self.declared))
            plugin = self.plugin_of(explicit)
            if role not in plugin.roles:
                raise ConfigError(
                    f"provider {explicit!r} ({plugin.name}) cannot play the {role} role; it "
                    f"plays {', '.join(sorted(plugin.roles)) or 'no role'}")
            return explicit
        defaults = self._installed_defaults(role)
        by_plugin = [n for n, src in self.declared.items() if src in defaults]
        if len(by_plugin) == 1:
            return by_plugin[0]
        by_name = [n for n in self.declared if n in defaults]
        if len(by_name) == 1 and role in self.plugin_of(by_name[0]).roles:
            return by_name[0]
        if not by_plugin and not by_name and len(defaults) == 1:
            return defaults[0]
        candidates = sorted({*by_plugin, *by_name}) or sorted(
            n for n in self.declared if role in self.plugin_of(n).roles)
        what = f"several provider blocks can ({', '.join(candidates)})" if candidates else (
            "no provider block can")
        raise ConfigError(f"{what} play the {role} role; set {SECTION[role]}.provider in the "
                          "migration (or under defaults)")
