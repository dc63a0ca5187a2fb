"""Motion-capture readers and rotations in mappings: headerless tables, QTM 6D exports, Euler
angles / matrices / quaternions -> MuJoCo quaternions, units per column, unwrapping; the rotation
convention of the Kinova push data determined from the data; hostile mappings and files."""

from __future__ import annotations

from pathlib import Path

import mujoco
import numpy as np
import pytest
import tomllib
from scipy.spatial.transform import Rotation

from workbench.errors import EpisodeError, MappingError
from workbench.io import load_episodes, parse_mapping
from workbench.io.rotations import RotationSpec, sign_continuous, to_mujoco_quaternions
from workbench.paths import assets_root, real_data_root

KINOVA = assets_root() / "data" / "kinova_push"
MAP = assets_root() / "mappings" / "kinova_push.toml"
MAP_QTM = assets_root() / "mappings" / "kinova_push_qtm.toml"
REAL = real_data_root() / "kinova_push"
BODIES = ("ref", "hand", "cube")


def _mapping(path: Path = MAP) -> dict:
    return tomllib.loads(path.read_text())


def _with_matrix(data: dict, layout: str = "column") -> dict:
    for b in BODIES:
        data["signals"][f"body_pose:{b}"]["rotation"] = {
            "kind": "matrix",
            "layout": layout,
            "columns": [f"{b} Rot[{i}]" for i in range(9)],
        }
    return data


def _raw_columns(path: Path) -> np.ndarray:
    rows = [line.split("\t") for line in path.read_text().splitlines() if line]
    return np.array([[float(v) if v else np.nan for v in r] for r in rows])


def test_both_mappings_read_the_same_run_alike():
    (a, _), (b,) = (
        load_episodes(KINOVA, MAP),
        load_episodes(KINOVA / "CubeExp0001_6D_with_header.tsv", MAP_QTM),
    )
    assert sorted(a.signals) == sorted(b.signals) == [f"body_pose:{x}" for x in sorted(BODIES)]
    for name, sig in a.signals.items():
        assert np.array_equal(sig.values, b.signals[name].values), name
        assert sig.columns == ("x", "y", "z", "qw", "qx", "qy", "qz")
    # the headerless slice keeps its recorded time (14.0 s on); QTM's rate-based axis starts at 0
    assert a.times[0] == pytest.approx(14.0)
    np.testing.assert_allclose(a.times - a.times[0], b.times, atol=1e-12)
    raw = _raw_columns(KINOVA / "CubeExp0001_6D.tsv")
    np.testing.assert_array_equal(a.signals["body_pose:cube"].values[:, :3], raw[:, 36:39] * 1e-3)


@pytest.mark.skipif(not REAL.is_dir(), reason=f"shared kinova data not at {REAL}")
def test_full_run_through_a_qtm_header_is_identical(tmp_path):
    run = REAL / "runs" / "CubeExp0003_6D.tsv"
    header = (REAL / "Data_Format_with_QTM_header.tsv").read_text().splitlines()[:11]
    lines = run.read_text().splitlines()
    header[0] = f"NO_OF_FRAMES\t{len(lines)}"
    rows = ["\t".join(line.split("\t")[2:]) for line in lines]
    (tmp_path / "run_header.tsv").write_text("\r\n".join(header + rows) + "\r\n")
    (a,), (b,) = load_episodes(run, MAP), load_episodes(tmp_path / "run_header.tsv", MAP_QTM)
    assert np.array_equal(a.times, b.times)
    for name in a.signals:
        assert np.array_equal(a.signals[name].values, b.signals[name].values)
    (up,) = load_episodes(REAL / "Data_Format_with_QTM_header.tsv", MAP_QTM)
    assert up.num_samples == 2280 and up.times[-1] == pytest.approx(22.79)


def test_rotation_convention_is_determined_by_the_data():
    """Roll/Pitch/Yaw against Rot[0..8]: of every Euler sequence (intrinsic and extrinsic) and
    both matrix layouts, exactly one pair agrees to the data's rounding on all three bodies (the
    near-identity reference body alone cannot tell intrinsic from extrinsic; the hand can)."""
    raw = _raw_columns(KINOVA / "CubeExp0011_6D.tsv")
    seqs = ["xyz", "xzy", "yxz", "yzx", "zxy", "zyx"]
    matches = set()
    for b in range(3):
        base = 2 + 17 * b
        euler, mats = raw[:, base + 3 : base + 6], raw[:, base + 7 : base + 16].reshape(-1, 3, 3)
        for layout, m in (("row", mats), ("column", mats.transpose(0, 2, 1))):
            rm = Rotation.from_matrix(m)
            for seq in seqs:
                for intrinsic, s in ((True, seq.upper()), (False, seq)):
                    angle = (Rotation.from_euler(s, euler, degrees=True).inv() * rm).magnitude()
                    if np.degrees(angle.max()) < 0.01:
                        matches.add((b, layout, seq.upper(), intrinsic))
    on_all = {m[1:] for m in matches if all((b, *m[1:]) in matches for b in range(3))}
    assert on_all == {("column", "XYZ", True)}
    data = _mapping()
    rot = data["signals"]["body_pose:cube"]["rotation"]
    assert (rot["sequence"], rot["intrinsic"], rot["angle_unit"]) == ("XYZ", True, "deg")


def test_euler_and_matrix_columns_give_the_same_quaternion(tmp_path):
    (euler, _) = load_episodes(KINOVA, MAP)
    (matrix, _) = load_episodes(KINOVA, parse_mapping(_with_matrix(_mapping())))
    for b in BODIES:
        qe = euler.signals[f"body_pose:{b}"].values[:, 3:]
        qm = matrix.signals[f"body_pose:{b}"].values[:, 3:]
        # matrix entries carry 5 decimals (rounding <= 5e-6 each): that bounds the agreement
        assert np.abs(qe - qm).max() < 5e-6, b
        np.testing.assert_allclose(np.linalg.norm(qe, axis=1), 1.0, atol=1e-12)
    # at full precision (matrices written from the Euler columns with MuJoCo's own conversion,
    # whose lowercase sequence means moving axes) the two mappings agree to 1e-6 and better
    path = KINOVA / "CubeExp0001_6D.tsv"
    raw = _raw_columns(path)
    lines = path.read_text().splitlines()
    out = []
    for i, line in enumerate(lines):
        fields = line.split("\t")
        for b in range(3):
            base = 2 + 17 * b
            quat, mat = np.zeros(4), np.zeros(9)
            mujoco.mju_euler2Quat(quat, np.radians(raw[i, base + 3 : base + 6]), "xyz")
            mujoco.mju_quat2Mat(mat, quat)
            fields[base + 7 : base + 16] = [repr(float(v)) for v in mat.reshape(3, 3).T.reshape(-1)]
        out.append("\t".join(fields))
    tmp = tmp_path / "exact.tsv"
    tmp.write_text("\r\n".join(out) + "\r\n")
    (e2,) = load_episodes(tmp, MAP)
    (m2,) = load_episodes(tmp, parse_mapping(_with_matrix(_mapping())))
    for b in BODIES:
        d = e2.signals[f"body_pose:{b}"].values[:, 3:] - m2.signals[f"body_pose:{b}"].values[:, 3:]
        assert np.abs(d).max() < 1e-6


def test_rotation_kinds_agree_and_quaternion_orders():
    rng = np.random.default_rng(3)
    rot = Rotation.random(50, random_state=rng)
    eul = rot.as_euler("ZYX", degrees=False)  # intrinsic z-y'-x''
    q1 = to_mujoco_quaternions(eul, RotationSpec("euler", ("a", "b", "c"), "zyx", True, "rad"))
    q2 = to_mujoco_quaternions(
        rot.as_matrix().reshape(-1, 9), RotationSpec("matrix", tuple("abcdefghi"), layout="row")
    )
    xyzw = rot.as_quat()
    q3 = to_mujoco_quaternions(xyzw, RotationSpec("quaternion", tuple("abcd"), order="xyzw"))
    for q in (q1, q2, q3):
        d = np.minimum(np.abs(q - q3).max(1), np.abs(q + q3).max(1))
        assert d.max() < 1e-12
    ext = to_mujoco_quaternions(
        rot.as_euler("xyz"), RotationSpec("euler", ("a", "b", "c"), "xyz", False, "rad")
    )
    assert np.minimum(np.abs(ext - q3).max(1), np.abs(ext + q3).max(1)).max() < 1e-12


def test_sign_continuity_and_unwrap(tmp_path):
    q = Rotation.from_euler("z", np.linspace(0, 4 * np.pi, 200)[:, None]).as_quat()[:, [3, 0, 1, 2]]
    q[::3] *= -1
    c = sign_continuous(q)
    assert np.all(np.sum(c[1:] * c[:-1], axis=1) > 0) and c[0, 0] >= 0
    t = np.arange(100) * 0.01
    angle = np.degrees(np.linspace(0, 3 * np.pi, 100))
    wrapped = (angle + 180) % 360 - 180
    lines = ["t,a,x_mm"] + [f"{a},{b},{c}" for a, b, c in zip(t, wrapped, t * 1000, strict=True)]
    (tmp_path / "r.csv").write_text("\n".join(lines))
    m = parse_mapping(
        {
            "time": {"column": "t"},
            "signals": {
                "qpos": {
                    "columns": ["a", "x_mm"],
                    "names": ["hinge", "slide"],
                    "from_unit": ["deg", "mm"],
                    "unit": ["rad", "m"],
                    "unwrap": ["a"],
                }
            },
        }
    )
    (ep,) = load_episodes(tmp_path / "r.csv", m)
    np.testing.assert_allclose(ep.signals["qpos"].values[:, 0], np.radians(angle), atol=1e-9)
    np.testing.assert_allclose(ep.signals["qpos"].values[:, 1], t, atol=1e-12)
    assert ep.signals["qpos"].unit == "rad, m"


def test_headerless_positions_and_skip_until(tmp_path):
    body = ["# exported", "junk\tline", "END_HEADER", "0\t0.0\t\t1.5\t", "1\t0.01\t\t2.5\t"]
    (tmp_path / "a.tsv").write_text("\r\n".join(body) + "\r\n")
    m = parse_mapping(
        {
            "format": "tsv",
            "text": {"header": False, "skip_until": "END_HEADER"},
            "time": {"column": "c1"},
            "signals": {"qpos": {"columns": ["c3"], "names": ["j"]}},
        }
    )
    (ep,) = load_episodes(tmp_path / "a.tsv", m)
    assert ep.signals["qpos"].values[:, 0].tolist() == [1.5, 2.5]
    m2 = parse_mapping(
        {
            "format": "tsv",
            "text": {"header": False, "skip_rows": 3, "names": ["f", "t", "v"]},
            "time": {"column": "t"},
            "signals": {"qpos": {"columns": ["v"], "names": ["j"]}},
        }
    )
    (ep2,) = load_episodes(tmp_path / "a.tsv", m2)
    assert np.array_equal(ep.signals["qpos"].values, ep2.signals["qpos"].values)


# ---- hostile inputs: each names the file, the field, the expected and the actual value ----


def _kinova_copy(tmp_path: Path, edit) -> Path:
    lines = (KINOVA / "CubeExp0001_6D.tsv").read_text().splitlines()[:20]
    rows = [line.split("\t") for line in lines]
    edit(rows)
    path = tmp_path / "CubeExp9999_6D.tsv"
    path.write_text("\r\n".join("\t".join(r) for r in rows) + "\r\n")
    return path


def test_hostile_matrix_not_orthonormal(tmp_path):
    def stretch(rows):
        rows[7][2 + 17 + 7] = "1.2"  # hand Rot[0] of row 7

    path = _kinova_copy(tmp_path, stretch)
    with pytest.raises(EpisodeError) as err:
        load_episodes(path, parse_mapping(_with_matrix(_mapping()), source="m.toml"))
    msg = str(err.value)
    for word in (str(path), "body_pose:hand", "hand Rot[0]", "row 7", "orthonormal", "R R^T - I"):
        assert word in msg, (word, msg)


def test_hostile_reflection_matrix(tmp_path):
    def flip(rows):
        for r in rows:
            for k in (7, 10, 13):  # cube: first column negated -> det -1
                r[2 + 34 + k] = repr(-float(r[2 + 34 + k]))

    path = _kinova_copy(tmp_path, flip)
    with pytest.raises(EpisodeError, match=r"det = -1"):
        load_episodes(path, parse_mapping(_with_matrix(_mapping())))


def test_hostile_quaternion_not_unit(tmp_path):
    lines = ["t,qw,qx,qy,qz", "0,1,0,0,0", "0.01,0.5,0,0,0"]
    (tmp_path / "q.csv").write_text("\n".join(lines))
    m = parse_mapping(
        {
            "time": {"column": "t"},
            "signals": {
                "body_pose:box": {
                    "columns": [],
                    "rotation": {"kind": "quaternion", "columns": ["qw", "qx", "qy", "qz"]},
                }
            },
        },
        source="q.toml",
    )
    with pytest.raises(EpisodeError) as err:
        load_episodes(tmp_path / "q.csv", m)
    for word in ("q.csv", "body_pose:box", "row 1", "unit quaternion", "norm 0.5"):
        assert word in str(err.value)


@pytest.mark.parametrize(
    ("rotation", "words"),
    [
        ({"sequence": "XYY"}, ["rotation.sequence", "no axis twice", "'XYY'"]),
        ({"sequence": "XYW"}, ["rotation.sequence", "3 axes", "'XYW'"]),
        ({"sequence": "roll-pitch-yaw"}, ["rotation.sequence", "'roll-pitch-yaw'"]),
        ({"sequence": 3}, ["rotation.sequence", "int 3"]),
        ({"intrinsic": "yes"}, ["rotation.intrinsic", "true or false", "'yes'"]),
        ({"angle_unit": "grad"}, ["rotation.angle_unit", "'deg'", "'grad'"]),
        ({"layout": "row"}, ["rotation.layout", "kind = 'matrix' only", "'euler'"]),
        ({"kind": "axis_angle"}, ["rotation.kind", "'euler'", "'axis_angle'"]),
        ({"columns": ["cube Roll"]}, ["rotation.columns", "3 columns", "got 1"]),
        ({"spin": 1}, ["rotation", "unknown keys ['spin']"]),
    ],
)
def test_hostile_rotation_keys(rotation, words):
    data = _mapping()
    data["signals"]["body_pose:cube"]["rotation"].update(rotation)
    with pytest.raises(MappingError) as err:
        parse_mapping(data, source="kp.toml")
    for word in ("kp.toml", "body_pose:cube", *words):
        assert word in str(err.value), (word, str(err.value))


def test_hostile_matrix_needs_layout_and_quaternion_order():
    data = _with_matrix(_mapping())
    del data["signals"]["body_pose:ref"]["rotation"]["layout"]
    with pytest.raises(
        MappingError, match=r"body_pose:ref.rotation: kind = 'matrix' needs `layout`"
    ):
        parse_mapping(data, source="kp.toml")
    data = _mapping()
    data["signals"]["body_pose:ref"]["rotation"] = {
        "kind": "quaternion",
        "columns": ["a", "b", "c", "d"],
        "order": "wxyy",
    }
    with pytest.raises(
        MappingError, match=r"rotation.order: expected a permutation of 'wxyz'.*'wxyy'"
    ):
        parse_mapping(data, source="kp.toml")


def test_hostile_text_layouts(tmp_path):
    data = _mapping()
    data["text"]["names"] = data["text"]["names"][:-1]
    with pytest.raises(MappingError, match=r"expected 49 columns .* has 50 non-empty columns"):
        load_episodes(KINOVA / "CubeExp0001_6D.tsv", parse_mapping(data))
    data = _mapping()
    data["text"]["skip_until"] = "NO_SUCH_MARKER"
    with pytest.raises(
        MappingError, match=r"text.skip_until: expected a line starting with 'NO_SUCH_MARKER'"
    ):
        load_episodes(KINOVA / "CubeExp0001_6D.tsv", parse_mapping(data))
    with pytest.raises(MappingError, match=r"\[text\]: applies to csv/tsv recordings only"):
        parse_mapping({**_mapping(), "format": "npz"})
    with pytest.raises(MappingError, match=r"text.names: names the columns of a headerless file"):
        parse_mapping({**_mapping(), "text": {"names": ["a"]}})
    data = _mapping()
    data["signals"]["body_pose:cube"]["from_unit"] = ["mm", "mm"]
    with pytest.raises(
        MappingError, match=r"from_unit: expected 3 units \(one per column\), got 2"
    ):
        parse_mapping(data)
    data["signals"]["body_pose:cube"]["from_unit"] = ["mm", "mm", "furlong"]
    with pytest.raises(MappingError, match=r"column 'cube Z': no conversion 'furlong'->'m'"):
        parse_mapping(data)


def test_hostile_qtm_files(tmp_path):
    src = (KINOVA / "CubeExp0001_6D_with_header.tsv").read_text().splitlines()
    (tmp_path / "trunc_header.tsv").write_text("\r\n".join(src[:-5]) + "\r\n")
    with pytest.raises(MappingError, match=r"NO_OF_FRAMES = 400, the file has 395 data rows"):
        load_episodes(tmp_path / "trunc_header.tsv", MAP_QTM)
    no_bodies = [line for line in src if not line.startswith("BODY_NAMES")]
    (tmp_path / "nob_header.tsv").write_text("\r\n".join(no_bodies) + "\r\n")
    with pytest.raises(MappingError, match=r"expected a BODY_NAMES metadata line"):
        load_episodes(tmp_path / "nob_header.tsv", MAP_QTM)
    data = _mapping(MAP_QTM)
    data["signals"]["body_pose:cube"]["columns"][0] = "Cube X"
    with pytest.raises(
        MappingError, match=r"column 'Cube X' .* not found; columns are .*'PCube X'"
    ):
        load_episodes(KINOVA / "CubeExp0001_6D_with_header.tsv", parse_mapping(data))
    data = _mapping(MAP_QTM)
    data["time"] = {"rate_from": "NO_OF_CAMERAS_X"}
    with pytest.raises(
        MappingError, match=r"array 'NO_OF_CAMERAS_X' \(needed for time.rate_from\)"
    ):
        load_episodes(KINOVA / "CubeExp0001_6D_with_header.tsv", parse_mapping(data))


def test_cli_gap_refuses_a_bad_euler_sequence(tmp_path, capsys):
    from workbench.cli import main

    text = MAP.read_text().replace('sequence = "XYZ"', 'sequence = "XQZ"', 1)
    (tmp_path / "bad.toml").write_text(text)
    out = tmp_path / "out"
    code = main(
        [
            "gap",
            str(KINOVA),
            "--scene",
            "kinova_push",
            "--mode",
            "open_loop",
            "--mapping",
            str(tmp_path / "bad.toml"),
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    for word in ("bad.toml", "body_pose:ref.rotation.sequence", "'XQZ'", "3 axes"):
        assert word in err, (word, err)
