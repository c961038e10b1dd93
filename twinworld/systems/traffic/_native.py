"""Which build of the road engine runs: the one mypyc compiled at install, or the Python source.

The install compiles :mod:`.link_times`, :mod:`.routing`, :mod:`.engine` and :mod:`.informed`
into C extensions (see ``hatch_build.py``) and records a digest of each source in
``_compiled.json``. Python imports an extension before a source file of the same name, so after
an edit to one of those sources in an editable install the old extension would still run: this
module, imported by the package before any of them, loads the four sources instead when any of
them changed since it was compiled, or when ``TWINWORLD_PURE_PYTHON`` is set (and warns in the
first case, since a reinstall compiles them again). The four are all compiled or all Python:
compiled modules call each other directly, not through ``sys.modules``.

:data:`ENGINE_BUILD` says which build runs: ``"compiled"`` or ``"python"``. Both give the same
numbers (``tests/systems/test_compiled_engine.py``).
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path

__all__ = ["ENGINE_BUILD", "MODULES"]

#: The compiled modules, in the order they import each other.
MODULES = ("link_times", "routing", "engine", "informed")
_HERE = Path(__file__).resolve().parent
_PACKAGE = __name__.rpartition(".")[0]


def _pure_python_requested() -> bool:
    """Whether ``TWINWORLD_PURE_PYTHON`` asks for the Python engine (any value but empty or 0)."""
    return os.environ.get("TWINWORLD_PURE_PYTHON", "") not in ("", "0")


def _compiled(name: str) -> bool:
    return any((_HERE / f"{name}{suffix}").exists() for suffix in importlib.machinery.EXTENSION_SUFFIXES)


def _changed_sources() -> list[str]:
    """The compiled modules whose source differs from the one compiled (all, without a record)."""
    try:
        recorded = json.loads((_HERE / "_compiled.json").read_text())
    except (OSError, ValueError):
        return list(MODULES)
    return [name for name in MODULES
            if recorded.get(name) != hashlib.sha256((_HERE / f"{name}.py").read_bytes()).hexdigest()]


def _load_sources() -> None:
    for name in MODULES:
        full = f"{_PACKAGE}.{name}"
        spec = importlib.util.spec_from_file_location(full, _HERE / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        spec.loader.exec_module(module)
        setattr(sys.modules[_PACKAGE], name, module)


def _select() -> str:
    loaded = sys.modules.get(f"{_PACKAGE}.engine")
    if loaded is not None:  # this module run a second time (a doctest collector, a reload): keep what runs
        return "python" if str(getattr(loaded, "__file__", "")).endswith(".py") else "compiled"
    if not any(_compiled(name) for name in MODULES):
        return "python"
    if _pure_python_requested():
        _load_sources()
        return "python"
    changed = _changed_sources()
    if not changed:
        return "compiled"
    warnings.warn(f"the compiled road engine is older than its source ({', '.join(changed)} changed); running "
                  "the Python source (same results, slower). Reinstall (pip install -e .) to compile it again.",
                  RuntimeWarning, stacklevel=2)
    _load_sources()
    return "python"


ENGINE_BUILD = _select()
