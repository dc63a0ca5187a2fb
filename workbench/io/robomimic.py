"""robomimic HDF5 datasets as recording input: `data/demo_<n>` -> Episodes.

Files the workbench wrote carry each array's signal, columns, unit, times and provenance and read
back exactly. For others, `actions` becomes `ctrl` and each `obs/<key>` the signal `<key>`
(columns `<key>[i]`), or an explicit {signal: path in the demo} map picks them
(`{"qpos": "obs/robot0_joint_pos", "ctrl": "actions"}`); times come from `times`, else from
`rate_hz`, else from `env_args.env_kwargs.control_freq` (robosuite's control rate).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from workbench.datasets.provenance import Provenance
from workbench.episode import Episode, Signal
from workbench.errors import DatasetError, EpisodeError

_DEMO = re.compile(r"^demo_(\d+)$")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _json_attr(attrs, name: str, where: str, default: Any = None) -> Any:
    if name not in attrs:
        return default
    try:
        return json.loads(_text(attrs[name]))
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: attribute {name!r}: invalid JSON: {exc}") from None


def read_robomimic_records(
    path: str | Path,
    *,
    signals: Mapping[str, str] | None = None,
    rate_hz: float | None = None,
    demos: list[int] | None = None,
) -> list[tuple[Episode, Provenance | None]]:
    """(Episode, Provenance or None) for each `data/demo_<n>` in demo-number order.

    Args:
      path: the HDF5 file.
      signals: {signal: dataset path inside a demo}; default: as written (see module doc).
      rate_hz: sample rate for files without `times`.
      demos: demo numbers to read (default: all).
    Raises:
      DatasetError: not an HDF5 file, no `data` group, a missing dataset, ragged lengths, no
        time axis.
    """
    path = Path(path)
    if signals is not None and (not isinstance(signals, Mapping) or not signals):
        raise DatasetError(f"signals: expected a non-empty table {{signal: path}}, got {signals!r}")
    if rate_hz is not None and (
        isinstance(rate_hz, bool) or not isinstance(rate_hz, (int, float)) or not rate_hz > 0
    ):
        raise DatasetError(f"rate_hz: expected a number > 0, got {rate_hz!r}")
    try:
        f = h5py.File(path, "r")
    except FileNotFoundError:
        raise DatasetError(f"{path}: missing") from None
    except OSError as exc:
        raise DatasetError(f"{path}: not an HDF5 file ({exc})") from None
    with f:
        if "data" not in f or not isinstance(f["data"], h5py.Group):
            raise DatasetError(f"{path}: expected a 'data' group (robomimic layout)")
        data = f["data"]
        env_args = _json_attr(data.attrs, "env_args", f"{path}: data", {}) or {}
        numbers = sorted(int(m.group(1)) for k in data if (m := _DEMO.match(k)))
        if not numbers:
            raise DatasetError(f"{path}: 'data' holds no demo_<n> groups")
        wanted = numbers if demos is None else demos
        out = []
        for n in wanted:
            if n not in numbers:
                raise DatasetError(f"demos: demo_{n} not in {path}; demos are 0..{numbers[-1]}")
            out.append(
                _demo(data[f"demo_{n}"], f"{path}: data/demo_{n}", signals, rate_hz, env_args)
            )
        return out


def read_robomimic(path: str | Path, **kwargs: Any) -> list[Episode]:
    """Episodes of a robomimic HDF5 file (see `read_robomimic_records`)."""
    return [ep for ep, _ in read_robomimic_records(path, **kwargs)]


def _array(group: h5py.Group, key: str, where: str) -> tuple[np.ndarray, Any]:
    if key not in group or not isinstance(group[key], h5py.Dataset):
        raise DatasetError(f"{where}: no dataset {key!r}; datasets are {_listing(group)}")
    ds = group[key]
    try:
        values = np.asarray(ds[()], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{where}/{key}: expected numbers ({exc})") from None
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise DatasetError(f"{where}/{key}: expected shape (T, k), got {values.shape}")
    return values, ds.attrs


def _listing(group: h5py.Group) -> list[str]:
    names: list[str] = []
    group.visit(lambda name: names.append(name) if isinstance(group[name], h5py.Dataset) else None)
    return sorted(names)


def _demo(group, where, signals, rate_hz, env_args) -> tuple[Episode, Provenance | None]:
    if signals is None:
        chosen = {}
        if "actions" in group and group["actions"].shape[-1:] != (0,):
            chosen[_text(group["actions"].attrs.get("signal", "ctrl"))] = "actions"
        if "obs" in group:
            for key in group["obs"]:
                chosen[_text(group["obs"][key].attrs.get("signal", key))] = f"obs/{key}"
    else:
        chosen = dict(signals)
    sigs = {}
    for name, key in chosen.items():
        values, attrs = _array(group, key, where)
        cols = _json_attr(attrs, "columns", f"{where}/{key}")
        if not (isinstance(cols, list) and len(cols) == values.shape[1]):
            cols = [f"{key.split('/')[-1]}[{i}]" for i in range(values.shape[1])]
        sigs[name] = Signal(
            values, cols, _text(attrs.get("unit", "")), _text(attrs.get("frame", ""))
        )
    lengths = {k: s.values.shape[0] for k, s in sigs.items()}
    if len(set(lengths.values())) > 1:
        raise DatasetError(f"{where}: signals of different lengths {lengths}")
    T = next(iter(lengths.values()), int(group.attrs.get("num_samples", 0)))
    if "times" in group:
        times = _array(group, "times", where)[0][:, 0]
    else:
        rate = rate_hz or (env_args.get("env_kwargs") or {}).get("control_freq")
        if not rate:
            raise DatasetError(
                f"{where}: no 'times' dataset and no rate: pass rate_hz (or env_args.env_kwargs."
                "control_freq)"
            )
        times = np.arange(T) / float(rate)
    metadata = _json_attr(group.attrs, "workbench_metadata", where)
    if metadata is None:
        metadata = {"env_name": env_args.get("env_name", "")}
    eid = _text(group.attrs.get("workbench_episode_id", group.name.split("/")[-1]))
    try:
        episode = Episode(eid, times, sigs, metadata)
    except EpisodeError as exc:
        raise DatasetError(f"{where}: {exc}") from None
    prov = _json_attr(group.attrs, "workbench_provenance", where)
    return episode, (Provenance.from_dict(prov, f"{where}: provenance") if prov else None)
