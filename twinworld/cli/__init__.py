"""The ``twinworld`` command line: run | validate | schema | sweep | rank | report | twin.

Each command lives in its own module under ``twinworld/cli/`` and exposes ``register(app)``.
"""

from twinworld.cli.app import app, main

__all__ = ["app", "main"]
