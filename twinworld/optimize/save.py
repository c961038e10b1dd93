"""Keep what the search found: a candidate becomes a named strategy in a new scenario file, and is
ranked against the scenario's named strategies on *fresh* sampled scenarios.

The candidate was chosen because it did well on the search's own samples, so its score there is
biased upwards (selection on noise). Ranking it on samples and run seeds from another stream, which
played no part in choosing it, gives an honest comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from twinworld.core.rng import name_key
from twinworld.optimize.evaluate import EvaluationOptions, sweep_runs
from twinworld.optimize.search import OptimizeResult
from twinworld.optimize.store import OptimizeError
from twinworld.scenario.levers import candidate_parts

__all__ = ["save_strategy", "rank_on_fresh_scenarios", "fresh_seed", "SavedStrategy"]


@dataclass(frozen=True)
class SavedStrategy:
    """Where a chosen candidate was written."""

    name: str
    candidate: str
    path: Path
    values: dict[str, Any]
    data_roots: tuple[Path, ...] = ()
    """Data folders the file needs allowed (``--data-root``) when it lies outside the original's folder."""


def fresh_seed(seed: int, name: str) -> int:
    """A scenario seed from another stream than ``seed`` (derived from it and the strategy name)."""
    sequence = np.random.SeedSequence(int(seed), spawn_key=name_key("fresh-scenarios", name))
    return int(sequence.generate_state(1, np.uint32)[0])


def save_strategy(result: OptimizeResult, name: str, *, candidate: str | None = None,
                  path: str | Path | None = None, overwrite: bool = False) -> SavedStrategy:
    """Write ``candidate`` (default: the best compromise of the front) as strategy ``name``.

    The new file is the scenario file with the strategy added to its ``strategies:`` (comments and
    layout kept), written next to it as ``<stem>.<name>.yaml`` unless ``path`` says otherwise.

    Raises
    ------
    OptimizeError
        ``name`` exists or is not a word, the candidate is unknown, or the target file exists
        (and ``overwrite`` is False).
    """
    scenario = result.scenario
    if not name.isidentifier():
        raise OptimizeError(f"strategy name {name!r} must be a word (letters, digits, _)")
    if name in scenario.strategies:
        raise OptimizeError(f"the scenario already has a strategy {name!r}; choose another name")
    key = result.choose(candidate)
    values = {lever: _plain(result.candidates.loc[key, lever]) for lever in result.levers}
    settings = scenario.levers
    parts = candidate_parts(scenario.strategies[settings.strategy], settings.vary, values)
    source = Path(scenario.source) if scenario.source else None
    target = Path(path) if path is not None else (
        source.with_name(f"{source.stem}.{name}.yaml") if source else None)
    if target is None:
        raise OptimizeError("the scenario was not read from a file: say where to write it (path=)")
    if target.exists() and not overwrite:
        raise OptimizeError(f"{target} exists; choose another path or allow overwriting it")
    if source is not None and target.resolve() == source.resolve() and not overwrite:
        raise OptimizeError(f"will not overwrite the scenario file {source} itself")
    note = (f"found by `twinworld optimize` ({key}, {datetime.now(UTC):%Y-%m-%d}): "
            + ", ".join(f"{k}={v}" for k, v in values.items()))
    text = source.read_text(encoding="utf-8") if source else ""
    target.write_text(_with_strategy(text, name, parts, note, source, target), encoding="utf-8")
    data_roots = _data_roots(source, target, text)
    _check_written(target, name, scenario, data_roots)
    return SavedStrategy(name, key, target, values, data_roots)


def _data_roots(source: Path | None, target: Path, text: str) -> tuple[Path, ...]:
    """The original data folder, when the saved file lies elsewhere: its ``data_dir`` then points out
    of its own folder, which loading allows only for a root given on purpose (``--data-root``)."""
    if source is None or source.parent.resolve() == target.parent.resolve():
        return ()
    data = yaml.safe_load(text) or {}
    return ((source.parent / str(data.get("data_dir", "."))).resolve(),)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _lever_text(lever: Any) -> str:
    fields = type(lever).model_fields
    data = {k: v for k, v in lever.model_dump(mode="json").items()
            if not (v is None and fields[k].default is None)}
    return yaml.safe_dump(data, default_flow_style=True, width=10_000, sort_keys=False).strip()


def _block(name: str, parts: dict[str, Any], note: str, indent: int) -> list[str]:
    pad = " " * indent
    lines = [f"{pad}# {note}", f"{pad}{name}:"]
    for system, levers in parts.items():
        if len(levers) == 1:
            lines.append(f"{pad}  {system}: {_lever_text(levers[0])}")
        else:
            lines.append(f"{pad}  {system}:")
            lines += [f"{pad}    - {_lever_text(lever)}" for lever in levers]
    return lines


def _with_strategy(text: str, name: str, parts: dict[str, Any], note: str, source: Path | None,
                   target: Path) -> str:
    """The scenario text with the strategy added at the end of its ``strategies:`` block."""
    root = yaml.compose(text, Loader=yaml.SafeLoader) if text.strip() else None
    lines = text.splitlines()
    found = None
    if isinstance(root, yaml.MappingNode):
        found = next((v for k, v in root.value if k.value == "strategies"), None)
    if isinstance(found, yaml.MappingNode) and found.flow_style is False and found.value:
        indent = found.value[0][0].start_mark.column
        end = found.value[-1][1].end_mark
        at = end.line if end.column == 0 else end.line + 1
        while at > 0 and (not lines[at - 1].strip() or lines[at - 1].lstrip().startswith("#")):
            at -= 1
        lines[at:at] = _block(name, parts, note, indent)
        out = "\n".join(lines) + "\n"
    else:  # no block-style strategies: rewrite the whole file (comments cannot be kept)
        data = yaml.safe_load(text) if text.strip() else {}
        data.setdefault("strategies", {"baseline": {}})
        data["strategies"][name] = {s: [lv.model_dump(mode="json") for lv in ls] for s, ls in parts.items()}
        out = f"# {note}\n" + yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if source is not None and source.parent.resolve() != target.parent.resolve():
        out = _moved_data_dir(out, source, target)
    return out


def _moved_data_dir(text: str, source: Path, target: Path) -> str:
    """Keep ``data_dir`` pointing at the same folder when the file moves elsewhere."""
    import os

    data = yaml.safe_load(text)
    old = (source.parent / str(data.get("data_dir", "."))).resolve()
    new = os.path.relpath(old, target.parent.resolve())
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("data_dir:"):
            lines[i] = f"data_dir: {new}"
            return "\n".join(lines) + "\n"
    return f"data_dir: {new}\n" + text


def _check_written(target: Path, name: str, scenario: Any, data_roots: Sequence[Path]) -> None:
    from twinworld.scenario.loader import load_scenario

    try:
        loaded = load_scenario(target, registry=scenario.registry, data_roots=data_roots)
    except Exception as err:
        target.unlink(missing_ok=True)
        raise OptimizeError(f"the scenario with strategy {name!r} did not load back ({err}); "
                            "nothing written") from err
    if name not in loaded.strategies:
        target.unlink(missing_ok=True)
        raise OptimizeError(f"strategy {name!r} did not land in {target}; nothing written")


def rank_on_fresh_scenarios(path: str | Path, name: str, out: str | Path, *, search_seed: int,
                            scenarios: int, design: str = "lhs", replications: int = 1,
                            options: EvaluationOptions | None = None, registry: Any = None,
                            overrides: Sequence[str] = (), data_roots: Sequence[Path] = ()) -> Any:
    """Sweep the saved scenario's strategies on fresh samples into ``out`` and rank them.

    The sweep's seed is :func:`fresh_seed` of the search's seed and ``name``: other samples, other
    run seeds. ``overrides`` are the ``--set`` edits the search ran with (the file does not hold
    them). Returns the :class:`~twinworld.analysis.Ranking`.
    """
    from twinworld.analysis.ranking import rank
    from twinworld.scenario.loader import load_scenario

    options = options or EvaluationOptions()
    scenario = load_scenario(path, registry=registry, overrides=overrides, data_roots=data_roots)
    seed = fresh_seed(search_seed, name)
    fresh = scenario.model_copy(update={"seed": seed})
    sweep_runs(fresh, Path(out), options=options, design=design, scenarios=scenarios,
               replications=replications)
    ranking = rank(out)
    ranking.notes.append(f"ranked on {scenarios} fresh sampled scenario(s) (seed {seed}), not the "
                         f"search's (seed {search_seed}): '{name}' was not chosen on these.")
    return ranking
