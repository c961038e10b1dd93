"""The registry of system plugins, filled from the ``twinworld.systems`` entry points.

A registry is an object, not a module global: tests and notebooks can make their own and register
extra plugins. ``default_registry()`` builds one from the installed entry points and fails loudly
on a plugin that cannot load, a kind claimed twice, or an entry point shadowing a built-in.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from twinworld.errors import TwinworldError, UnknownKindError
from twinworld.systems.base import KPI, SystemPlugin

__all__ = ["Registry", "default_registry", "ENTRY_POINT_GROUP", "PluginError"]

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
        """Add a plugin; a second, different plugin of the same kind is an error."""
        if plugin.kind in self._plugins and self._plugins[plugin.kind] is not plugin:
            raise PluginError(f"system kind {plugin.kind!r} is registered twice")
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
        raise PluginError(f"{target} is a {type(plugin).__name__}, not a twinworld SystemPlugin")
    return plugin


class PluginError(TwinworldError, ImportError):
    """A system plugin could not be loaded, or two plugins claim one kind."""


@lru_cache(maxsize=1)
def default_registry() -> Registry:
    """The registry of every installed system plugin: the built-ins plus third-party entry points.

    Fails loudly: a built-in that cannot be imported, an entry point that does not load or is not
    a :class:`SystemPlugin`, two entry points of one kind, and an entry point that would replace a
    built-in are all :class:`PluginError`. (The installed package declares the built-ins as entry
    points too; those are the same objects, not a clash.)
    """
    registry = Registry()
    for kind, target in _BUILTINS.items():
        registry.register(_load_or_fail(kind, target, "built-in"))
    seen: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _BUILTINS:
            if ep.value != _BUILTINS[ep.name]:
                raise PluginError(f"entry point {ep.name!r} = {ep.value} would replace the built-in system "
                                  f"{_BUILTINS[ep.name]}; give the third-party system another kind")
            continue
        if ep.name in seen and seen[ep.name] != ep.value:
            raise PluginError(f"two packages declare system kind {ep.name!r}: {seen[ep.name]} and {ep.value}")
        seen[ep.name] = ep.value
        plugin = _load_or_fail(ep.name, ep.value, "entry point")
        if plugin.kind != ep.name:
            raise PluginError(f"entry point {ep.name!r} ({ep.value}) holds a plugin of kind {plugin.kind!r}")
        registry.register(plugin)
    return registry


def _load_or_fail(kind: str, target: str, what: str) -> SystemPlugin:
    try:
        return _load(target)
    except PluginError:
        raise
    except Exception as err:  # an import error, a syntax error, a missing dependency ...
        hint = (" (is its optional dependency installed? pip install 'twinworld[all]')"
                if isinstance(err, ImportError) else "")
        raise PluginError(f"system plugin {kind!r} ({what} {target}) cannot be loaded: "
                          f"{type(err).__name__}: {err}{hint}") from err
