"""Clip files, the Human3.6M loader on synthetic files in VideoPose3D's layout, virtual cameras, noise."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from finepose_core.data import h36m
from finepose_core.data.augment import NoiseConfig, body_frame, detector_like, measured_offsets
from finepose_core.data.cameras import sample_camera
from finepose_core.data.clip import Clip, ClipError, load_clips, load_dataset
from finepose_core.data.joint_maps import CMU_MB
from finepose_core.data.mocap import WindowSampler, load_descriptions, load_library
from finepose_core.geometry.camera import (
    from_virtual,
    intrinsics_from_fov,
    look_at_rotations,
    normalize_window,
    person_rotations,
    project,
    to_virtual,
)
from finepose_core.train import TrainConfig, load_split
from tests.bvh_factory import write_library


def _clip(frames: int = 20) -> Clip:
    rng = np.random.default_rng(0)
    joints = rng.normal(scale=0.3, size=(frames, 17, 3)) + np.array([0, 0, 4.0])
    K = np.array([[500, 0, 320], [0, 500, 240], [0, 0, 1]], np.float32)
    return Clip(
        project(joints, K).astype(np.float32),
        K,
        (640, 480),
        30.0,
        joints3d=joints.astype(np.float32),
        action="walk",
    )


def test_clip_round_trip(tmp_path: Path) -> None:
    clip = _clip()
    clip.save(tmp_path / "a" / "clip.npz")
    (loaded,) = load_clips(tmp_path / "a" / "clip.npz")
    np.testing.assert_allclose(loaded.keypoints2d, clip.keypoints2d)
    assert loaded.image_size == (640, 480) and loaded.action == "walk" and loaded.fps == 30.0
    assert loaded.confidence2d is None
    _clip(5).save(tmp_path / "a" / "b" / "second.npz")
    assert len(load_dataset(tmp_path)) == 2


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"K": np.eye(3), "image_size": [640, 480], "fps": 30.0}, "missing key 'keypoints2d'"),
        (
            {"keypoints2d": np.zeros((5, 16, 2)), "K": np.eye(3), "image_size": [640, 480], "fps": 30.0},
            r"\[5, 16, 2\]",
        ),
        (
            {
                "keypoints2d": np.full((5, 17, 2), np.nan),
                "K": np.eye(3),
                "image_size": [640, 480],
                "fps": 30.0,
            },
            "NaN",
        ),
        (
            {"keypoints2d": np.zeros((5, 17, 2)), "K": np.eye(3), "image_size": [640, -1], "fps": 30.0},
            "image_size",
        ),
        (
            {
                "keypoints2d": np.zeros((5, 17, 2)),
                "K": np.eye(3),
                "image_size": [640, 480],
                "fps": 30.0,
                "joints3d": np.zeros((4, 17, 3)),
            },
            "joints3d",
        ),
    ],
)
def test_malformed_clips_name_file_and_problem(
    tmp_path: Path, arrays: dict[str, object], message: str
) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)  # type: ignore[arg-type]
    with pytest.raises(ClipError, match=message) as error:
        load_clips(path)
    assert "bad.npz" in str(error.value)


def test_truncated_and_missing_files(tmp_path: Path) -> None:
    _clip().save(tmp_path / "good.npz")
    data = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ClipError, match=r"cut\.npz"):
        load_clips(tmp_path / "cut.npz")
    with pytest.raises(ClipError, match="no such file"):
        load_clips(tmp_path / "none.npz")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ClipError, match="no clip files"):
        load_dataset(empty)


def test_rendered_files_become_one_clip_per_person(shared_dir: Path) -> None:
    clips = load_clips(shared_dir / "data/rendered/s05_two_02_05_06_13.npz")
    assert len(clips) == 2
    assert clips[0].joints3d is not None and clips[0].joints3d.shape == (150, 17, 3)
    assert clips[1].action.startswith("basketball")


def _write_h36m(folder: Path) -> tuple[np.ndarray, dict[str, object]]:
    """Synthetic files in exactly VideoPose3D's layout: 2 subjects, 1 action, 4 cameras."""
    rng = np.random.default_rng(1)
    positions_3d: dict[str, dict[str, np.ndarray]] = {}
    positions_2d: dict[str, dict[str, list[np.ndarray]]] = {}
    cameras: dict[str, object] = {"intrinsic": [], "extrinsic": {}}
    for c in range(4):
        cameras["intrinsic"].append(  # type: ignore[attr-defined]
            {
                "id": str(c),
                "center": [500.0 + c, 500.0],
                "focal_length": [1145.0, 1144.0],
                "res_w": 1000,
                "res_h": 1002,
            }
        )
    for subject in ("S9", "S11"):
        world = rng.normal(scale=0.3, size=(30, 32, 3)) + np.array([0.0, 0.0, 1.0])
        positions_3d[subject] = {"Walking 1": world}
        extrinsic = []
        views = []
        for c in range(4):
            quaternion = Rotation.random(random_state=c + 10 * len(subject)).as_quat()  # x, y, z, w
            orientation = [quaternion[3], *quaternion[:3]]
            translation = (rng.normal(size=3) * 1000).tolist()
            extrinsic.append({"orientation": orientation, "translation": translation})
            camera = h36m.world_to_camera(world[:, list(h36m.KEPT_JOINTS)], orientation, translation)
            intrinsic = cameras["intrinsic"][c]  # type: ignore[index]
            K = np.array([[1145.0, 0, intrinsic["center"][0]], [0, 1144.0, 500.0], [0, 0, 1]])
            views.append(project(camera + np.array([0, 0, 5.0]), K).astype(np.float32)[:28])  # CPN is shorter
        cameras["extrinsic"][subject] = extrinsic  # type: ignore[index]
        positions_2d[subject] = {"Walking 1": views}
    np.savez(folder / "data_3d_h36m.npz", positions_3d=np.array(positions_3d, dtype=object))
    np.savez(
        folder / "data_2d_h36m_cpn_ft_h36m_dbb.npz",
        positions_2d=np.array(positions_2d, dtype=object),
        metadata=np.array({"layout_name": "h36m", "num_joints": 17}, dtype=object),
    )
    (folder / "h36m_cameras.json").write_text(json.dumps(cameras))
    return positions_3d["S9"]["Walking 1"], cameras


def test_h36m_loader_on_synthetic_files(tmp_path: Path) -> None:
    world, cameras = _write_h36m(tmp_path)
    assert h36m.is_h36m_folder(tmp_path)
    clips = h36m.load_h36m_clips(tmp_path)
    assert len(clips) == 8  # 2 subjects × 1 action × 4 cameras
    first = clips[0]
    assert first.subject == "S9" and first.action == "Walking 1" and first.frames == 28
    assert first.K[0, 0] == 1145.0 and first.image_size == (1000, 1002) and first.fps == 50.0
    # world → camera by hand: X_cam = Rᵀ (X − t), R from the (w, x, y, z) quaternion, t in millimetres
    pose = cameras["extrinsic"]["S9"][0]  # type: ignore[index]
    w, x, y, z = pose["orientation"]
    R = Rotation.from_quat([x, y, z, w]).as_matrix()
    expected = R.T @ (world[0, 0] - np.array(pose["translation"]) / 1000.0)
    assert first.joints3d is not None
    np.testing.assert_allclose(first.joints3d[0, 0], expected, atol=1e-5)
    # the 17 of 32: joint 7 of the protocol (Spine) is mocap joint 12
    np.testing.assert_allclose(
        first.joints3d[0, 7], R.T @ (world[0, 12] - np.array(pose["translation"]) / 1000.0), atol=1e-5
    )


def test_h36m_loader_errors(tmp_path: Path) -> None:
    with pytest.raises(h36m.H36MError, match=r"data_3d_h36m\.npz"):
        h36m.load_h36m_clips(tmp_path)
    _write_h36m(tmp_path)
    (tmp_path / "h36m_cameras.json").unlink()
    with pytest.raises(h36m.H36MError, match=r"h36m_cameras\.json"):
        h36m.load_h36m_clips(tmp_path)


def test_virtual_cameras_frame_the_person_anywhere_at_any_size() -> None:
    rng = np.random.default_rng(0)
    world = np.zeros((10, 17, 3))
    world[..., 2] = np.linspace(0, 1.7, 17)  # a 1.7 m tall column of joints
    world[..., 0] = np.linspace(0, 0.5, 10)[:, None]  # moving along x
    fractions, centres, aspects = [], [], set()
    for _ in range(300):
        camera = sample_camera(world, rng)
        pixels = camera.project(world)
        width, height = camera.image_size
        aspects.add("landscape" if width > height else "portrait" if height > width else "square")
        assert (camera.to_camera(world)[..., 2] > 0.5).all()
        fractions.append(np.ptp(pixels[..., 1], axis=-1).mean() / height)
        centres.append(pixels.reshape(-1, 2).mean(axis=0) / np.array([width, height]))
        assert np.allclose(camera.R @ camera.R.T, np.eye(3))
    assert aspects == {"landscape", "portrait", "square"}
    assert min(fractions) < 0.15 and max(fractions) > 0.6
    centres_array = np.array(centres)
    assert centres_array[:, 0].min() < 0.25 and centres_array[:, 0].max() > 0.75


def test_person_normalisation_ignores_where_and_how_big() -> None:
    """The same 3D pose filmed at the centre and at the edge of a wide lens, near and far, in frames of
    different shapes: the virtual camera makes the inputs equal, and the target turns back exactly."""
    rng = np.random.default_rng(2)
    pose = rng.normal(scale=0.25, size=(9, 17, 3))
    pose -= pose[:, :1]
    setups = (
        (640, 480, 50, (0, 0, 4.0)),
        (1920, 1080, 90, (3.0, -0.8, 3.5)),
        (1080, 1920, 70, (-1.0, 1.5, 8.0)),
    )
    views = []
    for width, height, fov, root in setups:
        K = intrinsics_from_fov(width, height, fov)
        root_at = 4.5 * np.array(root) / np.linalg.norm(root)  # the same distance: the same perspective
        rotation = look_at_rotations(root_at)  # a camera turned towards the person sees `pose`
        camera_pose = pose @ rotation + root_at  # the same pose as the real camera sees it
        pixels = project(camera_pose, K)
        views.append((normalize_window(pixels, "person", width, height, K), pixels, K, camera_pose))
    for normalised, _, _, _ in views[1:]:
        np.testing.assert_allclose(normalised, views[0][0], atol=1e-5)
    for _, pixels, K, camera_pose in views:
        rotations = person_rotations(pixels, K)
        relative = camera_pose - camera_pose[:, :1]
        np.testing.assert_allclose(to_virtual(relative, rotations), pose, atol=1e-9)
        np.testing.assert_allclose(
            from_virtual(to_virtual(relative, rotations), rotations), relative, atol=1e-12
        )
    image_a = normalize_window(views[1][1], "image", 1920, 1080)
    assert not np.allclose(image_a, normalize_window(views[0][1], "image", 640, 480))


def test_detector_like_noise_moves_joints_as_measured() -> None:
    offsets = measured_offsets()
    assert offsets.shape == (17, 2)
    # measured on the validation renders: MediaPipe's thorax (mid-shoulders) sits 0.16 torso lengths low
    assert offsets[8, 1] == pytest.approx(-0.157, abs=0.01)
    rng = np.random.default_rng(0)
    exact = np.zeros((4, 17, 2))
    exact[:, 0] = (0, 0)
    exact[:, 8] = (0, -100)  # thorax 100 px above the pelvis: up = (0, −1)
    exact[:, 4], exact[:, 1] = (20, 0), (-20, 0)  # the actor's left is +x
    exact[:, 11], exact[:, 14] = (30, -95), (-30, -95)
    side, up, torso, facing = body_frame(exact[0])
    np.testing.assert_allclose(side, (1, 0))
    np.testing.assert_allclose(up, (0, -1))
    assert torso == 100 and facing > 0.5
    quiet = NoiseConfig(offset_factor=(1.0, 1.0), jitter=(0.0, 0.0), drop_probability=0.0)
    moved = detector_like(exact, rng, quiet)
    np.testing.assert_allclose(moved[0, 8] - exact[0, 8], (offsets[8, 0] * 100, -offsets[8, 1] * 100))
    noisy = detector_like(exact, rng, NoiseConfig(drop_probability=0.3))
    assert np.isfinite(noisy).all()


def test_window_sampler_is_deterministic_and_held_out_by_subject(tmp_path: Path) -> None:
    root = write_library(tmp_path, {"01": 2, "02": 1}, frames=120)
    descriptions = load_descriptions(root / "descriptions.csv")
    train = load_library(root, CMU_MB, 30.0, descriptions, exclude_subjects=["02"])
    assert {s.subject for s in train} == {"01"} and train[1].action == "wave - arms"
    assert train[0].frames == 30  # 120 frames at 120 fps, the T-pose frame dropped → 119 → every 4th
    sampler = WindowSampler(train, CMU_MB, 9, seed=3)
    a, b = sampler.sample(7), sampler.sample(7)
    np.testing.assert_array_equal(a.keypoints2d, b.keypoints2d)
    assert not np.array_equal(sampler.sample(8).keypoints2d, a.keypoints2d)
    np.testing.assert_allclose(project(a.joints3d, a.K), a.exact2d)


def test_split_holds_out_subjects_and_trials_and_keeps_test_trials_out_of_both(tmp_path: Path) -> None:
    root = write_library(tmp_path, {"01": 3, "02": 3, "03": 2}, frames=40)
    config = TrainConfig(
        data=str(root),
        descriptions=str(root / "descriptions.csv"),
        val_subjects=["03"],
        val_trials=["02_02"],
        exclude_trials=["02_03", "03_01"],
    )
    train, val = load_split(config, CMU_MB, load_descriptions(root / "descriptions.csv"))
    assert sorted(s.trial for s in train) == ["01_01", "01_02", "01_03", "02_01"]
    assert sorted(s.trial for s in val) == ["02_02", "03_02"]
    # trials alone select across subjects; the subjects filter alone still works as before
    only = load_library(root, CMU_MB, 30.0, trials=["01_02", "03_02"])
    assert sorted(s.trial for s in only) == ["01_02", "03_02"]
    assert {s.subject for s in load_library(root, CMU_MB, 30.0, subjects=["02"])} == {"02"}
    no_validation = replace(config, val_subjects=[], val_trials=[])
    train_all, val_none = load_split(no_validation, CMU_MB, {})
    assert val_none == [] and len(train_all) == 6


def test_default_split_keeps_the_rendered_clips_motions_out_of_training_and_validation(
    shared_dir: Path,
) -> None:
    config = TrainConfig.from_recipe("cmu_small", shared_dir / "data/mocap/cmu")
    # the CMU trials each rendered clip was made from, as its ground-truth file records them
    rendered = {
        str(trial)
        for clip in sorted((shared_dir / "data/rendered").glob("*.npz"))
        for trial in np.atleast_1d(np.load(clip)["bvh_trial"])
    }
    assert rendered == {"05_01", "05_02", "02_05", "06_02", "06_13"}
    assert rendered <= set(config.exclude_trials)
    assert not rendered & set(config.val_trials)
    assert config.data is not None and config.descriptions is not None
    assert Path(config.descriptions).name == "cmu_descriptions.csv"
    # the split finds data: both sets are non-empty and share no trial
    train, val = load_split(config, CMU_MB, load_descriptions(Path(config.descriptions)))
    assert train and val and not {s.trial for s in train} & {s.trial for s in val}
