"""Running experiments: one run, designs over uncertain parameters, executors, the results store."""

from twinworld.experiments.run import RunResult, run
from twinworld.experiments.sweep import sweep

__all__ = ["run", "RunResult", "sweep"]
