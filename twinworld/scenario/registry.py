"""The registry of system plugins, filled from the ``twinworld.systems`` entry points.

A registry is an object, not a module global: tests and notebooks can make their own and register
extra plugins. ``default_registry()`` builds one from the installed entry points (a broken
third-party plugin is skipped with a warning, never fatal).
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from importlib.metadata import entry_points

from twinworld.errors import UnknownKindError
from twinworld.systems.base import KPI, SystemPlugin

__all__ = ["Registry", "default_registry", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "twinworld.systems"

# Built-ins, used when the package is imported from a source tree without being installed.
_BUILTINS = {
    "hospital_region": "twinworld.systems.hospital:plugin",
    "port": "twinworld.systems.port:plugin",
    "supply_network": "twinworld.systems.warehouse:plugin",
    "road_network": "twinworld.systems.traffic:plugin",
    "power_grid": "twinworld.systems.grid:plugin",
}


class Registry:
    """Maps a system ``kind`` to its :class:`SystemPlugin`."""

    def __init__(self, plugins: list[SystemPlugin] | None = None) -> None:
        self._plugins: dict[str, SystemPlugin] = {}
        for plugin in plugins or []:
            self.register(plugin)

    def register(self, plugin: SystemPlugin) -> None:
        if plugin.kind in self._plugins and self._plugins[plugin.kind] is not plugin:
            raise ValueError(f"system kind {plugin.kind!r} is registered twice")
        self._plugins[plugin.kind] = plugin

    def get(self, kind: str) -> SystemPlugin:
        try:
            return self._plugins[kind]
        except KeyError:
            raise UnknownKindError(kind, list(self._plugins)) from None

    def __contains__(self, kind: str) -> bool:
        return kind in self._plugins

    def __iter__(self):
        return iter(self._plugins.values())

    @property
    def kinds(self) -> list[str]:
        return sorted(self._plugins)

    def kpi(self, name: str) -> KPI | None:
        """The KPI definition called ``name`` in any plugin."""
        for plugin in self._plugins.values():
            found = plugin.kpi(name)
            if found is not None:
                return found
        return None


def _load(target: str) -> SystemPlugin:
    module_name, _, attr = target.partition(":")
    module = __import__(module_name, fromlist=[attr])
    plugin = getattr(module, attr)
    if not isinstance(plugin, SystemPlugin):
        raise TypeError(f"{target} is not a SystemPlugin")
    return plugin


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The registry of every installed system plugin (built-ins plus third-party entry points)."""
    registry = Registry()
    targets = dict(_BUILTINS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        targets[ep.name] = ep.value
    for kind, target in targets.items():
        try:
            plugin = _load(target)
        except ModuleNotFoundError as err:
            # A built-in system whose package has not been written yet, or whose optional
            # dependency is missing: skip it quietly unless it came from a third party.
            if kind not in _BUILTINS or not target.startswith("twinworld."):
                warnings.warn(f"twinworld: skipping system plugin {kind!r} ({target}): {err}",
                              stacklevel=2)
            elif not err.name or not err.name.startswith("twinworld"):
                warnings.warn(f"twinworld: system {kind!r} unavailable: {err}", stacklevel=2)
            continue
        except Exception as err:  # a broken plugin must not break the others
            warnings.warn(f"twinworld: skipping broken system plugin {kind!r} ({target}): {err}",
                          stacklevel=2)
            continue
        registry.register(plugin)
    return registry
