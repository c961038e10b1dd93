"""Build hook: compile the road engine's event loop with mypyc when twinworld is installed.

The engine (:mod:`twinworld.systems.traffic.engine` and the three modules it calls in its loop)
is plain, typed Python; mypyc turns the same source into a C extension that runs the same
arithmetic in the same order, about twice as fast. Nothing else is compiled.

- A regular wheel carries the extensions; an editable install (``pip install -e .``) builds them
  next to the sources, with ``_compiled.json`` recording the digest of each compiled source, so
  that ``twinworld.systems.traffic._native`` runs the Python source instead once a source changed.
- Without a C compiler, or with ``TWINWORLD_PURE_PYTHON=1``, the install goes on with the Python
  engine (a warning says why); the results are the same, only slower.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = Path("twinworld", "systems", "traffic")
#: The modules compiled together (one mypyc group), in the order they import each other.
MODULES = ("link_times", "routing", "engine", "informed")
MANIFEST = "_compiled.json"
GROUP = "twinworld.systems.traffic._compiled"

_SETUP = """
import sys
from mypyc.build import mypycify
from setuptools import setup

config, build_lib, build_temp, c_dir, *paths = sys.argv[1:]
setup(name="twinworld-native", packages=[], py_modules=[],
      ext_modules=mypycify(["--config-file", config, *paths], opt_level="3", group_name={group!r}, target_dir=c_dir),
      script_args=["build_ext", "--build-lib", build_lib, "--build-temp", build_temp])
"""

# mypyc needs the types of the compiled modules only: the rest of twinworld (and numpy) are
# skipped, which keeps the build free of twinworld's runtime dependencies and type-check plugins.
_MYPY_CONFIG = "[mypy]\nignore_missing_imports = True\nfollow_imports = skip\n"


def source_digests(package_dir: Path) -> dict[str, str]:
    """The SHA-256 of each compiled module's source (what ``_compiled.json`` records)."""
    return {name: hashlib.sha256((package_dir / f"{name}.py").read_bytes()).hexdigest() for name in MODULES}


def compile_engine(root: Path, work: Path) -> list[Path]:
    """Compile the engine's modules under ``work``; the built extension files, or an error."""
    src = work / "src"  # the four sources in their package (away from twinworld's pyproject.toml)
    (src / PACKAGE).mkdir(parents=True)
    for level in range(1, len(PACKAGE.parts) + 1):
        (src / Path(*PACKAGE.parts[:level]) / "__init__.py").touch()
    for name in MODULES:
        shutil.copy2(root / PACKAGE / f"{name}.py", src / PACKAGE / f"{name}.py")
    config = work / "mypy.ini"
    config.write_text(_MYPY_CONFIG)
    lib = work / "lib"
    paths = [str(PACKAGE / f"{name}.py") for name in MODULES]
    done = subprocess.run(
        [sys.executable, "-c", _SETUP.format(group=GROUP), str(config), str(lib), str(work / "temp"),
         str(work / "c"), *paths],
        cwd=src, capture_output=True, text=True, env={**os.environ, "MYPY_CACHE_DIR": str(work / "cache")})
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise RuntimeError(f"mypyc failed (exit {done.returncode}):\n{tail}")
    built = sorted((lib / PACKAGE).glob("*.so")) + sorted((lib / PACKAGE).glob("*.pyd"))
    if not built:
        raise RuntimeError("mypyc built no extension")
    return built


def remove_compiled(package_dir: Path) -> None:
    """Delete extensions and the manifest of an earlier in-place build."""
    for name in (*MODULES, "_compiled__mypyc"):
        for path in package_dir.glob(f"{name}.*"):
            if path.suffix in (".so", ".pyd"):
                path.unlink()
    (package_dir / MANIFEST).unlink(missing_ok=True)


class NativeEngineHook(BuildHookInterface):
    """Compiles the road engine (see the module docstring)."""

    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        package_dir = root / PACKAGE
        if version == "editable":
            remove_compiled(package_dir)
        if os.environ.get("TWINWORLD_PURE_PYTHON", "") not in ("", "0"):
            self.app.display_info("twinworld: TWINWORLD_PURE_PYTHON is set, the road engine stays Python")
            return
        work = Path(tempfile.mkdtemp(prefix="twinworld-native-"))
        try:
            self.app.display_info("twinworld: compiling the road engine with mypyc (about 15 s)")
            try:
                built = compile_engine(root, work)
            except (OSError, RuntimeError) as err:
                self.app.display_warning(f"twinworld: the road engine stays Python (same results, "
                                         f"about half the speed): {err}")
                return
            manifest = work / MANIFEST
            manifest.write_text(json.dumps(source_digests(package_dir), indent=1) + "\n")
            if version == "editable":
                for path in [*built, manifest]:
                    shutil.copy2(path, package_dir / path.name)
            else:
                for path in [*built, manifest]:
                    build_data["force_include"][str(path)] = str(PACKAGE / path.name)
                build_data["pure_python"] = False
                build_data["infer_tag"] = True
        finally:
            if version == "editable":
                shutil.rmtree(work, ignore_errors=True)
            # a regular wheel reads the files after initialize(): finalize() removes them
            else:
                self._work = work

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        work = getattr(self, "_work", None)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
