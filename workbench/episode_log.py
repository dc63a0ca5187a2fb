"""Per-episode results of a long run, appended as they finish and resumable after a crash.

While a run is in progress its results go to `<name>.partial` (JSON lines: a header
`{"run": <settings record>}`, then one result per episode, each carrying the content digest of the
episode it came from). `finish()` renames it to `<name>`, so a refused or failed run never touches an
earlier run's file. Resuming reads the partial file (or the finished one), refuses one written with
other settings, and keeps only results whose episode id and content digest match the current
recordings (a changed recording runs again; a last line cut short by a crash is dropped), so no
episode is counted twice and no stale result survives.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mujoco
import numpy as np

from workbench.episode import Episode
from workbench.errors import WorkbenchError

DIGEST_KEY = "input_sha256"


def episode_digest(episode: Episode) -> str:
    """sha256 over an episode's id, time axis and every signal's names, columns and values."""
    h = hashlib.sha256(episode.id.encode())
    h.update(np.ascontiguousarray(episode.times, dtype=np.float64).tobytes())
    for name in sorted(episode.signals):
        sig = episode.signals[name]
        h.update(json.dumps([name, list(sig.columns), sig.unit]).encode())
        h.update(np.ascontiguousarray(sig.values, dtype=np.float64).tobytes())
    return h.hexdigest()


def model_digest(model: mujoco.MjModel) -> str:
    """sha256 of a compiled model's binary form (every size, option and parameter)."""
    buffer = np.zeros(mujoco.mj_sizeModel(model), dtype=np.uint8)
    mujoco.mj_saveModel(model, None, buffer)
    return hashlib.sha256(buffer.tobytes()).hexdigest()


def _plain(record: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(record, allow_nan=True))


class EpisodeLog:
    """Results of one run in `path` (written as `path.partial` until `finish`).

    Args:
      path: the finished log, e.g. `out/episodes.jsonl`.
      record: the run's settings; a resumed run must have the same.
      digests: episode id -> `episode_digest` of every episode of this run.
      resume: keep matching results already written (see the module docstring).
    Attributes:
      done: episode id -> result kept from an earlier attempt.
      stale: ids whose earlier result was dropped because their recording changed.
    """

    def __init__(
        self,
        path: str | Path,
        record: Mapping[str, Any],
        *,
        digests: Mapping[str, str],
        resume: bool = False,
    ):
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.record = _plain(record)
        self.done: dict[str, dict[str, Any]] = {}
        self.stale: list[str] = []
        if resume:
            source = self.partial if self.partial.is_file() else self.path
            if source.is_file():
                for key, entry in self._read(source).items():
                    if digests.get(key) == entry.get(DIGEST_KEY):
                        self.done[key] = entry
                    elif key in digests:
                        self.stale.append(key)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.partial.with_name(self.partial.name + ".tmp")
        with tmp.open("w") as f:  # header + kept results, then append from here
            f.write(json.dumps({"run": self.record}) + "\n")
            for entry in self.done.values():
                f.write(json.dumps(entry, allow_nan=True) + "\n")
        os.replace(tmp, self.partial)
        self._file = self.partial.open("a")

    def _read(self, source: Path) -> dict[str, dict[str, Any]]:
        lines = source.read_text().splitlines()
        try:
            header = json.loads(lines[0]) if lines else {}
        except json.JSONDecodeError:
            header = {}
        if not isinstance(header, dict) or "run" not in header:
            raise WorkbenchError(
                f'--resume: {source}: expected a first line {{"run": ...}}, got {lines[:1]}'
            )
        if header["run"] != self.record:
            keys = sorted(
                k
                for k in set(header["run"]) | set(self.record)
                if header["run"].get(k) != self.record.get(k)
            )
            raise WorkbenchError(
                f"--resume: {source} was written with other settings (differing: {keys}); "
                "use the same settings, or another output folder"
            )
        done: dict[str, dict[str, Any]] = {}
        for number, line in enumerate(lines[1:], start=2):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):  # cut short by a crash: that episode runs again
                    break
                raise WorkbenchError(
                    f"--resume: {source}: line {number}: expected a JSON result, got {line[:80]!r}"
                ) from None
            if not isinstance(entry, dict) or "id" not in entry:
                raise WorkbenchError(
                    f"--resume: {source}: line {number}: expected a result with an 'id', "
                    f"got {line[:80]!r}"
                )
            done[entry["id"]] = entry
        return done

    def append(self, entry: Mapping[str, Any], digest: str) -> None:
        """Write one episode's result (tagged with its episode's digest) and flush it to disk."""
        self._file.write(json.dumps({**entry, DIGEST_KEY: digest}, allow_nan=True) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def finish(self) -> Path:
        """Close and publish the log under its final name (replacing an earlier run's)."""
        self.close()
        os.replace(self.partial, self.path)
        return self.path
