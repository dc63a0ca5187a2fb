"""Recorded rotations (Euler angles, 3x3 matrices, quaternions in any order) -> MuJoCo unit
quaternions (w, x, y, z), sign-continuous over time; angle unwrapping.

Conversions are scipy's `Rotation`; this module only checks inputs and arranges layouts. Every
error names `where` (file, episode, signal), the field, the row, the expected and the actual value.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.spatial.transform import Rotation

from workbench.errors import EpisodeError, MappingError

KINDS = ("euler", "matrix", "quaternion")
LAYOUTS = ("row", "column")
ANGLE_UNITS = ("deg", "rad")
DEFAULT_TOLERANCE = 1e-3  # |R R^T - I| (max element) or |norm(q) - 1| beyond this is refused


@dataclasses.dataclass(frozen=True)
class RotationSpec:
    """How raw columns hold one rotation.

    Attributes:
      kind: "euler" (3 angles), "matrix" (9 elements) or "quaternion" (4 elements).
      columns: the raw column names, in the order the layout below describes.
      sequence: euler: three axes, e.g. "XYZ" (consecutive axes differ; "ZXZ" allowed).
      intrinsic: euler: rotations about the moving (True) or the fixed axes (False).
      angle_unit: euler: "deg" or "rad".
      layout: matrix: the 9 columns are R row by row ("row") or column by column ("column").
      order: quaternion: the order of the 4 columns, a permutation of "wxyz" (e.g. "xyzw").
      tolerance: largest |R R^T - I| element / |det - 1|, or |norm - 1| of a quaternion, accepted;
        smaller deviations are projected away (nearest rotation, renormalised quaternion).
    """

    kind: str
    columns: tuple[str, ...]
    sequence: str = ""
    intrinsic: bool = True
    angle_unit: str = "deg"
    layout: str = "row"
    order: str = "wxyz"
    tolerance: float = DEFAULT_TOLERANCE

    @property
    def width(self) -> int:
        return {"euler": 3, "matrix": 9, "quaternion": 4}[self.kind]


def check_sequence(sequence: object, where: str) -> str:
    """An Euler axis sequence: 3 letters of x/y/z (any case), consecutive letters different."""
    expected = (
        "3 axes from x, y, z with no axis twice in a row (e.g. 'XYZ', 'ZYX', 'ZXZ'); "
        "intrinsic or extrinsic is the separate key `intrinsic`"
    )
    if not isinstance(sequence, str):
        raise MappingError(
            f"{where}: expected {expected}, got {type(sequence).__name__} {sequence!r}"
        )
    seq = sequence.lower()
    if len(seq) != 3 or set(seq) - set("xyz") or seq[0] == seq[1] or seq[1] == seq[2]:
        raise MappingError(f"{where}: expected {expected}, got {sequence!r}")
    return seq


def check_order(order: object, where: str) -> str:
    """A quaternion column order: a permutation of 'wxyz'."""
    if not isinstance(order, str) or sorted(order.lower()) != sorted("wxyz"):
        raise MappingError(
            f"{where}: expected a permutation of 'wxyz' naming the quaternion columns in order "
            f"(e.g. 'wxyz', 'xyzw'), got {order!r}"
        )
    return order.lower()


def sign_continuous(quats: np.ndarray) -> np.ndarray:
    """(T, 4) w-x-y-z quaternions with signs flipped so consecutive ones have a non-negative dot
    product and the first has w >= 0 (q and -q are one rotation)."""
    q = np.array(quats, dtype=float, copy=True)
    if q.shape[0] == 0:
        return q
    if q[0, 0] < 0:
        q[0] = -q[0]
    dots = np.sum(q[1:] * q[:-1], axis=1)
    flips = np.cumsum(np.r_[False, dots < 0]) % 2 == 1
    q[flips] = -q[flips]
    return q


def unwrap_angles(values: np.ndarray, unit: str) -> np.ndarray:
    """(T, k) angles unwrapped along time (jumps of a full turn removed); `unit` 'deg' or 'rad'."""
    period = 360.0 if unit == "deg" else 2.0 * math.pi
    return np.unwrap(np.asarray(values, dtype=float), axis=0, period=period)


def _matrices(raw: np.ndarray, spec: RotationSpec, rows: np.ndarray, where: str) -> np.ndarray:
    mats = raw.reshape(-1, 3, 3)
    if spec.layout == "column":
        mats = mats.transpose(0, 2, 1)
    gram = np.abs(np.einsum("nij,nkj->nik", mats, mats) - np.eye(3)).max(axis=(1, 2))
    det = np.linalg.det(mats)
    bad = ~((gram <= spec.tolerance) & (np.abs(det - 1.0) <= spec.tolerance))
    if bad.any():
        i = int(np.argmax(bad))
        raise EpisodeError(
            f"{where}: rotation columns {list(spec.columns)} (matrix, {spec.layout}-major) row "
            f"{int(rows[i])}: expected an orthonormal rotation matrix (max |R R^T - I| and "
            f"|det R - 1| <= {spec.tolerance:g}), got max |R R^T - I| = {gram[i]:.4g}, det = "
            f"{det[i]:.6g} ({np.round(raw[i], 6).tolist()})"
        )
    return Rotation.from_matrix(mats).as_quat()  # x y z w


def _quaternions(raw: np.ndarray, spec: RotationSpec, rows: np.ndarray, where: str) -> np.ndarray:
    norm = np.linalg.norm(raw, axis=1)
    bad = ~(np.abs(norm - 1.0) <= spec.tolerance)
    if bad.any():
        i = int(np.argmax(bad))
        raise EpisodeError(
            f"{where}: rotation columns {list(spec.columns)} (quaternion, order "
            f"{spec.order!r}) row {int(rows[i])}: expected a unit quaternion (|norm - 1| <= "
            f"{spec.tolerance:g}), got norm {norm[i]:.6g} ({raw[i].tolist()})"
        )
    index = [spec.order.index(c) for c in "xyzw"]
    return raw[:, index] / norm[:, None]


def to_mujoco_quaternions(
    raw: np.ndarray, spec: RotationSpec, *, rows: np.ndarray | None = None, where: str = ""
) -> np.ndarray:
    """(T, 4) unit quaternions (w, x, y, z), sign-continuous, from (T, width) raw columns.

    Args:
      raw: the rotation columns in the spec's layout (angles in `spec.angle_unit`).
      rows: (T,) file row of each sample, for messages (default 0..T-1).
    Raises:
      EpisodeError: a matrix that is not orthonormal (or a reflection), a quaternion off unit
        norm, beyond `spec.tolerance`.
    """
    raw = np.asarray(raw, dtype=float)
    rows = np.arange(raw.shape[0]) if rows is None else rows
    if raw.ndim != 2 or raw.shape[1] != spec.width:
        raise MappingError(
            f"{where}: rotation ({spec.kind}): expected {spec.width} columns, got shape {raw.shape}"
        )
    if spec.kind == "euler":
        seq = spec.sequence.upper() if spec.intrinsic else spec.sequence.lower()
        xyzw = Rotation.from_euler(seq, raw, degrees=spec.angle_unit == "deg").as_quat()
    elif spec.kind == "matrix":
        xyzw = _matrices(raw, spec, rows, where)
    else:
        xyzw = _quaternions(raw, spec, rows, where)
    return sign_continuous(xyzw[:, [3, 0, 1, 2]])


def from_mujoco_quaternions(quats: np.ndarray) -> Rotation:
    """A scipy Rotation from (..., 4) w-x-y-z quaternions."""
    q = np.asarray(quats, dtype=float)
    return Rotation.from_quat(q[..., [1, 2, 3, 0]])
