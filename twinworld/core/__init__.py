"""The pure simulation kernel: one clock, named random streams, a recorder, a Mesa adapter.

Nothing here knows about hospitals, ports or grids, and nothing here reads files.
"""

from twinworld.core.recorder import LevelProbe, Recorder
from twinworld.core.rng import RandomStreams
from twinworld.core.world import ServiceBoard, World

__all__ = ["World", "RandomStreams", "Recorder", "LevelProbe", "ServiceBoard"]
