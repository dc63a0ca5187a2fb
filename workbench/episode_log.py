"""Per-episode results of a long run, appended as they finish and resumable after a crash.

The file is JSON lines: a header `{"run": <settings record>}`, then one result per episode. Resuming
keeps the results already written (a last line cut short by a crash is dropped), refuses a file
written with other settings, and lets the caller skip those episodes, so no episode is counted twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from workbench.errors import WorkbenchError


def _plain(record: Mapping[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(record, allow_nan=True))


class EpisodeLog:
    """Append-only `path`: `done` maps episode id -> result already there (when resuming)."""

    def __init__(self, path: str | Path, record: Mapping[str, Any], *, resume: bool = False):
        self.path = Path(path)
        self.record = _plain(record)
        self.done: dict[str, dict[str, Any]] = {}
        if resume and self.path.is_file():
            self.done = self._read()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        with tmp.open("w") as f:  # header + kept results, then append from here
            f.write(json.dumps({"run": self.record}) + "\n")
            for entry in self.done.values():
                f.write(json.dumps(entry, allow_nan=True) + "\n")
        tmp.replace(self.path)
        self._file = self.path.open("a")

    def _read(self) -> dict[str, dict[str, Any]]:
        lines = self.path.read_text().splitlines()
        try:
            header = json.loads(lines[0]) if lines else {}
        except json.JSONDecodeError:
            header = {}
        if not isinstance(header, dict) or "run" not in header:
            raise WorkbenchError(
                f'resume: {self.path}: expected a first line {{"run": ...}}, got {lines[:1]}'
            )
        if header["run"] != self.record:
            keys = sorted(
                k
                for k in set(header["run"]) | set(self.record)
                if header["run"].get(k) != self.record.get(k)
            )
            raise WorkbenchError(
                f"resume: {self.path} was written with other settings (differing: {keys}); "
                "use the same settings, or another output folder"
            )
        done: dict[str, dict[str, Any]] = {}
        for number, line in enumerate(lines[1:], start=2):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):  # cut short by a crash: that episode runs again
                    break
                raise WorkbenchError(f"resume: {self.path}: line {number} is not JSON") from None
            done[entry["id"]] = entry
        return done

    def append(self, entry: Mapping[str, Any]) -> None:
        """Write one episode's result and flush it to disk."""
        self._file.write(json.dumps(entry, allow_nan=True) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
