"""robomimic HDF5 datasets written with h5py.

Layout (robomimic's `SequenceDataset` reads `obs/<key>`, `actions`, `rewards`, `dones`)::

    data                    attrs: total (frames), env_args (JSON: env_name, type, env_kwargs)
    data/demo_<n>           attrs: num_samples, model_file (MJCF XML), provenance (workbench_*)
        actions (T, a)      the `ctrl` signal ((T, 0) when the episode has none)
        states  (T, s)      the recorded state columns: `qpos` then `qvel`
        rewards (T,)        0
        dones   (T,)        1 on the last frame
        obs/<key> (T, k)    every other signal (attrs: signal, columns, unit, frame)
        times (T,)          episode time [s]

`<key>` is the signal name with `:` as `__` (`sensor:force` -> `sensor__force`). Every array is
float64, so values round-trip exactly; the file is written to a temporary name and renamed.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from workbench.datasets.lerobot import Record, WriteSummary
from workbench.datasets.provenance import Provenance, dumps
from workbench.episode import Episode
from workbench.errors import DatasetError, OutputError
from workbench.output import check_output_folder

ACTION_SIGNAL = "ctrl"
STATE_SIGNALS = ("qpos", "qvel")
ENV_TYPE_GYM = 2  # robomimic EnvType.GYM_TYPE: the closest of its env types to a bare MuJoCo scene


def obs_key(signal: str) -> str:
    return signal.replace(":", "__")


def _str_attr(group: h5py.Group, name: str, value: str) -> None:
    group.attrs.create(name, value, dtype=h5py.string_dtype("utf-8"))


def _dataset(group: h5py.Group, name: str, values: np.ndarray) -> h5py.Dataset:
    return group.create_dataset(name, data=np.asarray(values, dtype=np.float64), track_times=False)


def write_robomimic(
    path: str | Path,
    records: Iterable[Record | Episode],
    *,
    env_name: str = "workbench",
    env_kwargs: Mapping[str, Any] | None = None,
    model_file: str = "",
) -> WriteSummary:
    """Write episodes (each optionally with its Provenance) as one robomimic HDF5 file.

    Args:
      path: the `.hdf5` file (replaced atomically; its folder is created).
      records: Episodes or (Episode, Provenance | None) pairs; all with the same signals.
      env_name, env_kwargs: recorded in `data.attrs["env_args"]`.
      model_file: the scene's MJCF (XML text) stored with every demo.
    Raises:
      DatasetError: no episodes, or episodes whose signals differ.
      OutputError: `path` cannot be written.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"robomimic file: expected a file path, got the folder {str(path)!r}")
    check_output_folder(path.parent, option="robomimic file folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        total, n = _write(Path(tmp), records, env_name, dict(env_kwargs or {}), model_file)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return WriteSummary(path, n, total, (path.name,))


def _write(tmp: Path, records, env_name, env_kwargs, model_file) -> tuple[int, int]:
    total, n, layout = 0, 0, None
    with h5py.File(tmp, "w", track_order=True) as f:
        data = f.create_group("data", track_order=True)
        for n, record in enumerate(records):  # noqa: B007
            episode, prov = (record, None) if isinstance(record, Episode) else record
            if not isinstance(episode, Episode) or not (
                prov is None or isinstance(prov, Provenance)
            ):
                raise DatasetError(
                    f"records[{n}]: expected an Episode or (Episode, Provenance | None), got "
                    f"{type(record).__name__}"
                )
            shape = {k: (s.columns, s.unit, s.frame) for k, s in sorted(episode.signals.items())}
            if layout is None:
                layout = shape
            elif shape != layout:
                raise DatasetError(
                    f"episode {episode.id!r}: signals {sorted(shape)} (columns, units) differ from "
                    f"the first episode's {sorted(layout)}; a dataset holds one set of signals"
                )
            _demo(data.create_group(f"demo_{n}", track_order=True), episode, prov, model_file)
            total += episode.num_samples
        if layout is None:
            raise DatasetError("records: expected at least one episode, got none")
        data.attrs["total"] = np.int64(total)
        env_args = {"env_name": env_name, "type": ENV_TYPE_GYM, "env_kwargs": env_kwargs}
        _str_attr(data, "env_args", dumps(env_args))
    return total, n + 1


def _demo(group: h5py.Group, episode: Episode, prov: Provenance | None, model_file: str) -> None:
    T = episode.num_samples
    group.attrs["num_samples"] = np.int64(T)
    _str_attr(group, "model_file", model_file)
    _str_attr(group, "workbench_episode_id", episode.id)
    _str_attr(group, "workbench_metadata", dumps(dict(episode.metadata)))
    if prov is not None:
        _str_attr(group, "workbench_provenance", dumps(prov.to_dict()))
        _str_attr(group, "workbench_source_episode", prov.source_episode)
        _str_attr(group, "workbench_params", dumps(dict(prov.params)))
        _str_attr(group, "workbench_transform", dumps(dict(prov.transform)))
        for key in ("variant", "seed"):
            if getattr(prov, key) is not None:
                group.attrs[f"workbench_{key}"] = np.int64(getattr(prov, key))
    _dataset(group, "times", episode.times)
    sigs = episode.signals
    action = sigs[ACTION_SIGNAL].values if ACTION_SIGNAL in sigs else np.zeros((T, 0))
    ds = _dataset(group, "actions", action)
    if ACTION_SIGNAL in sigs:
        _signal_attrs(ds, ACTION_SIGNAL, sigs[ACTION_SIGNAL])
    states = [sigs[s].values for s in STATE_SIGNALS if s in sigs]
    ds = _dataset(group, "states", np.concatenate(states, axis=1) if states else np.zeros((T, 0)))
    cols = [f"{s}:{c}" for s in STATE_SIGNALS if s in sigs for c in sigs[s].columns]
    _str_attr(ds, "columns", json.dumps(cols))
    _dataset(group, "rewards", np.zeros(T))
    dones = np.zeros(T)
    dones[-1] = 1.0
    _dataset(group, "dones", dones)
    obs = group.create_group("obs", track_order=True)
    for name, signal in sorted(sigs.items()):
        if name != ACTION_SIGNAL:
            _signal_attrs(_dataset(obs, obs_key(name), signal.values), name, signal)


def _signal_attrs(ds: h5py.Dataset, name: str, signal) -> None:
    _str_attr(ds, "signal", name)
    _str_attr(ds, "columns", json.dumps(list(signal.columns)))
    _str_attr(ds, "unit", signal.unit)
    _str_attr(ds, "frame", signal.frame)
