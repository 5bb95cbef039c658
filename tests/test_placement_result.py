"""Placement on a synthetic camera (the known translation and floor come back) and the result document."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from finepose_core.data.cameras import look_rotation
from finepose_core.geometry.camera import intrinsics_from_fov, project
from finepose_core.geometry.feet import ANKLE_HEIGHT_M, in_picture
from finepose_core.geometry.gravity import camera_pitch_roll, up_from_pitch_roll
from finepose_core.geometry.placement import (
    fit_floor,
    floor_warning,
    legs_in_view,
    root_translations,
    steady_depth,
    to_world,
)
from finepose_core.result import (
    CameraResult,
    ModelInfo,
    PersonResult,
    Result,
    ResultError,
    VideoInfoResult,
    camera_summary,
    check_schema,
    read_result,
)

FPS = 30.0


def _walker(frames: int, start: tuple[float, float], velocity: tuple[float, float]) -> np.ndarray:
    """World joints [F, 17, 3] (z up, floor z = 0): a rigid upright body walking, feet alternating."""
    body = np.zeros((17, 3))
    body[:, 2] = [
        0.95,
        0.95,
        0.5,
        ANKLE_HEIGHT_M,
        0.95,
        0.5,
        ANKLE_HEIGHT_M,
        1.2,
        1.45,
        1.55,
        1.7,
        1.42,
        1.15,
        0.9,
        1.42,
        1.15,
        0.9,
    ]
    body[[1, 2, 3], 0] = -0.1
    body[[4, 5, 6], 0] = 0.1
    body[[11, 12, 13], 0] = 0.2
    body[[14, 15, 16], 0] = -0.2
    t = np.arange(frames) / FPS
    path = np.stack([start[0] + velocity[0] * t, start[1] + velocity[1] * t, np.zeros(frames)], axis=-1)
    joints = body[None] + path[:, None]
    # feet take turns: one planted (held where it landed), the other swinging forward, lifted
    right_swings = np.sin(2 * np.pi * t) > 0
    for ankle, swinging in ((3, right_swings), (6, ~right_swings)):
        for f in range(1, frames):
            if swinging[f]:
                joints[f, ankle, 2] = ANKLE_HEIGHT_M + 0.1
            elif not swinging[f - 1]:
                joints[f, ankle, :2] = joints[f - 1, ankle, :2]
    return joints


def _camera(height: float, pitch_deg: float) -> tuple[np.ndarray, np.ndarray]:
    R = look_rotation(np.pi / 2, np.radians(pitch_deg), 0.0)  # looking along world +y
    centre = np.array([0.0, 0.0, height])
    return R, -R @ centre


def test_known_root_translation_is_recovered() -> None:
    R, t = _camera(1.6, 8.0)
    K = intrinsics_from_fov(1280, 720, 60)
    world = _walker(60, (-1.0, 5.0), (0.8, 0.5))
    camera = world @ R.T + t
    root = camera[:, :1]
    pixels = project(camera, K)
    estimated = root_translations(camera - root, pixels, K, None, FPS)
    np.testing.assert_allclose(estimated, root[:, 0], atol=1e-3)
    # people keep their relative depths: the walker moves away by 0.5 m/s × 2 s ≈ 1 m of depth
    assert estimated[-1, 2] - estimated[0, 2] == pytest.approx(root[-1, 0, 2] - root[0, 0, 2], abs=0.01)


def test_the_roots_depth_is_steadied_along_its_line_of_sight() -> None:
    """A walk across and away from the camera, seen with 2 px of detector noise and 1 cm of lifted-joint
    noise: the depth a single camera gets from the body's image size jitters. Steadied over 0.7 s, its
    frame-to-frame wander falls from 14.2 to 1.8 mm a frame and its error from 20 to 11 mm (measured,
    seed 0); every pose moves along its root's line of sight only, so the image stays as it was."""
    R, t = _camera(1.6, 8.0)
    K = intrinsics_from_fov(1280, 720, 60)
    camera = _walker(150, (-1.0, 6.0), (0.8, -0.6)) @ R.T + t
    rng = np.random.default_rng(0)
    pixels = project(camera, K) + rng.normal(scale=2.0, size=(*camera.shape[:2], 2))
    relative = camera - camera[:, :1] + rng.normal(scale=0.01, size=camera.shape)
    placed = relative + root_translations(relative, pixels, K, None, FPS)[:, None]
    steady = steady_depth(placed, FPS)
    root = camera[:, 0]
    wander = [np.abs(np.diff(found[:, 0, 2] - root[:, 2])).mean() for found in (placed, steady)]
    error = [np.sqrt(np.mean((found[:, 0, 2] - root[:, 2]) ** 2)) for found in (placed, steady)]
    assert wander[1] < 0.25 * wander[0] and error[1] < 0.7 * error[0]
    np.testing.assert_allclose(steady[:, 0, :2] / steady[:, 0, 2:], placed[:, 0, :2] / placed[:, 0, 2:])
    np.testing.assert_allclose(steady - steady[:, :1], placed - placed[:, :1], atol=1e-12)


def test_with_the_legs_hidden_the_depth_is_steadied_over_longer_and_a_seen_walkers_turn_is_kept() -> None:
    """Where the legs are hidden (a desk, or the frame's edge), the depth rests on the upper body's image
    size, which a bend or a swung arm changes over a second or more, and no planted foot holds the body:
    a standing person whose depth wanders by 20 cm with a period of 1.2 s is steadied over 2 s instead of
    0.7 (measured, RMS error of the root 140 mm unsteadied, 136 over 0.7 s, 31 over 2 s). Where the legs
    are seen, the shorter window stays, so that a walker who turns back towards the camera keeps the turn
    (largest depth error around it, measured: 83 mm over 0.7 s, 260 mm it would be over 2 s)."""
    R, t = _camera(1.6, 8.0)
    K = intrinsics_from_fov(1280, 720, 60)
    camera = _walker(150, (0.0, 6.0), (0.0, 0.0)) @ R.T + t
    pixels = project(camera, K)
    # the legs in the picture, then the picture cut off above the knees
    sure = np.ones(pixels.shape[:2])
    assert legs_in_view(in_picture(pixels, sure, (1280, 720))).all()
    above_knees = int(pixels[:, [2, 5], 1].min()) - 1
    assert not legs_in_view(in_picture(pixels, sure, (1280, above_knees))).any()
    sight = camera[:, :1] / np.linalg.norm(camera[:, :1], axis=-1, keepdims=True)
    wander = 0.2 * np.sin(2 * np.pi * np.arange(150) / (1.2 * FPS))
    placed = camera + wander[:, None, None] * sight

    def rms(joints: np.ndarray) -> float:
        return float(np.sqrt(np.mean(np.sum((joints[:, 0] - camera[:, 0]) ** 2, axis=-1))))

    error = {seen: rms(steady_depth(placed, FPS, legs_seen=np.full(150, seen))) for seen in (True, False)}
    assert error[False] < 0.25 * rms(placed) and error[False] < 0.5 * error[True]

    # a walker going away from the camera at 1.4 m/s for 2.5 s, then coming back
    away = _walker(75, (-1.0, 4.0), (0.3, 1.4))
    back = _walker(75, (-1.0 + 0.3 * 75 / FPS, 4.0 + 1.4 * 75 / FPS), (0.3, -1.4))
    camera = np.concatenate([away, back]) @ R.T + t
    rng = np.random.default_rng(0)
    pixels = project(camera, K) + rng.normal(scale=2.0, size=(*camera.shape[:2], 2))
    relative = camera - camera[:, :1] + rng.normal(scale=0.01, size=camera.shape)
    placed = relative + root_translations(relative, pixels, K, None, FPS)[:, None]
    turn = {
        seen: np.abs(
            steady_depth(placed, FPS, legs_seen=np.full(150, seen))[60:90, 0, 2] - camera[60:90, 0, 2]
        ).max()
        for seen in (True, False)
    }
    assert turn[True] < 0.1 and turn[False] > 0.2


def test_floor_and_world_frame_are_recovered() -> None:
    R, t = _camera(1.6, 12.0)
    world = [_walker(90, (-1.0, 5.0), (0.8, 0.3)), _walker(90, (1.5, 7.0), (-0.5, 0.0))]
    cameras = [w @ R.T + t for w in world]
    floor = fit_floor(cameras, FPS)
    assert floor.fitted and floor.contacts > 50
    # the camera stands 1.6 m above the floor, pitched 12° down
    assert -floor.offset == pytest.approx(1.6, abs=0.01)
    true_up = R @ np.array([0.0, 0.0, 1.0])
    assert np.degrees(np.arccos(np.clip(floor.normal @ true_up, -1, 1))) < 0.5
    transform = floor.world_from_camera()
    back = to_world(cameras[0], transform)
    # feet on z = 0 (ankle centres 8 cm up) and the body upright, 1.7 m tall
    assert back[:, 6, 2].min() == pytest.approx(ANKLE_HEIGHT_M, abs=0.01)
    assert back[:, 10, 2].max() == pytest.approx(1.7, abs=0.01)


def test_nobody_upright_falls_back_to_a_level_camera_and_says_so() -> None:
    floating = np.random.default_rng(0).normal(size=(4, 17, 3)) + np.array([0, 0, 4.0])
    floor = fit_floor([floating], FPS)
    assert not floor.fitted and floor.source == "default" and -floor.offset == pytest.approx(1.5)
    warning = floor_warning(floor)
    # four frames are too few to say where anybody's feet are: the default height too
    assert not floor.height_from_feet
    assert warning is not None and "a level camera (pitch 5°) is assumed, 1.5 m high" in warning


def test_with_every_leg_hidden_the_level_camera_stands_as_high_as_the_lifted_feet_say() -> None:
    """Legs hidden behind a desk or cut off by the frame: nobody is upright with legs in view, so up is the
    default level camera's, but its height comes from where the lifter put the (guessed) feet: a camera
    1.1 m high, not the 1.5 m default that left the walker's feet 0.4 m in the air."""
    R, t = _camera(1.1, 5.0)
    world = [_swaying(_walker(120, (-1.0, 5.0), (0.8, 0.3)), seed=3)]  # no contact to be found either
    cameras = [w @ R.T + t for w in world]
    hidden_legs = np.ones((120, 17))
    hidden_legs[:, [2, 3, 5, 6]] = 0.1
    floor = fit_floor(cameras, FPS, confidences=[hidden_legs])
    assert floor.source == "default" and not floor.fitted and not floor.sure
    assert floor.height_from_feet and floor.camera_height == pytest.approx(1.1, abs=0.03)
    back = to_world(cameras[0], floor.world_from_camera())
    assert np.median(back[:, [3, 6], 2].min(axis=1)) == pytest.approx(ANKLE_HEIGHT_M, abs=0.05)
    warning = floor_warning(floor)
    assert warning is not None and "1.1 m above the floor under the people's feet as lifted" in warning


def _swaying(world: np.ndarray, seed: int, lean_deg: float = 3.0, sway_deg: float = 4.0) -> np.ndarray:
    """The walker leaning forward a little and swaying about its feet frame by frame, with lifter-like
    jitter (3 cm per joint and frame) that leaves no slow ankle anywhere: no foot contact to be found."""
    rng = np.random.default_rng(seed)
    out = world.copy()
    for f in range(len(world)):
        feet = world[f, [3, 6]].mean(axis=0)
        pitch = np.radians(lean_deg + rng.normal(scale=sway_deg))
        roll = np.radians(rng.normal(scale=sway_deg))
        rx = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
        ry = np.array([[np.cos(roll), 0, np.sin(roll)], [0, 1, 0], [-np.sin(roll), 0, np.cos(roll)]])
        out[f] = (world[f] - feet) @ (ry @ rx).T + feet
    return out + rng.normal(scale=0.03, size=out.shape)


def test_a_walk_from_a_high_pitched_camera_is_placed_upright_without_contacts() -> None:
    """A camera 3.3 m high, pitched 30° down: no foot contact can be found in the jittery joints, yet the
    world comes out upright (within 5°) and the camera's height within 0.3 m, from the people's posture
    (the level-camera fallback was 25° and 1.8 m off)."""
    R, t = _camera(3.3, 30.0)
    world = [
        _swaying(_walker(150, (-1.5, 6.0), (0.9, -0.4)), seed=1),
        _swaying(_walker(150, (1.0, 8.0), (-0.6, 0.0)), 2),
    ]
    cameras = [w @ R.T + t for w in world]
    floor = fit_floor(cameras, FPS)
    assert not floor.fitted and floor.source == "body"
    true_up = R @ np.array([0.0, 0.0, 1.0])
    tilt = np.degrees(np.arccos(np.clip(floor.normal @ true_up, -1, 1)))
    assert tilt < 5.0
    assert floor.camera_height == pytest.approx(3.3, abs=0.3)
    pitch, roll = floor.pitch_roll_deg
    assert pitch == pytest.approx(30.0, abs=5.0) and abs(roll) < 5.0
    # posture alone is never called sure: the lifter's own tilt of the bodies (1.5–13° on the validation
    # scenes) does not average out, and the result says so
    assert floor.uncertainty_deg is not None and 6.0 <= floor.uncertainty_deg < 7.0 and not floor.sure
    warning = floor_warning(floor)
    assert warning is not None and "not from foot contacts" in warning and "camera pitch 3" in warning
    back = to_world(cameras[0], floor.world_from_camera())
    assert np.median(back[:, 10, 2]) == pytest.approx(1.7, abs=0.3)  # the head at head height


def test_pitch_and_roll_round_trip() -> None:
    for pitch, roll in ((30.0, 0.0), (-20.0, 5.0), (0.0, -10.0)):
        assert camera_pitch_roll(up_from_pitch_roll(pitch, roll)) == pytest.approx((pitch, roll), abs=1e-9)
    R, _ = _camera(1.0, 30.0)
    assert camera_pitch_roll(R @ np.array([0.0, 0.0, 1.0]))[0] == pytest.approx(30.0)


def _result() -> Result:
    frames = 3
    joints = np.random.default_rng(1).normal(size=(frames, 17, 3))
    joints[1, 4] = np.nan
    person = PersonResult(
        id=0,
        frames=[10, 11, 12],
        joints3d_camera=joints,
        joints3d_world=joints + 1,
        uncertainty=np.full((frames, 17), 0.02),
        keypoints2d=np.zeros((frames, 17, 2)),
        confidence2d=np.ones((frames, 17)),
        prompts={"action": "walk"},
    )
    return Result(
        video=VideoInfoResult("clip.mp4", 640, 480, 30.0, 100, 10, 1),
        camera=CameraResult(np.eye(3), "estimated", np.eye(4), False),
        people=[person],
        model=ModelInfo("finepose_small_cmu", "ab" * 32, "minilm", 5, 5),
        timings={"detect": 1.23456},
        warnings=["the floor could not be fitted"],
    )


def test_the_camera_summary_says_where_the_lens_came_from() -> None:
    K = intrinsics_from_fov(1280, 720, 70)
    camera = CameraResult(
        K, "estimated", np.eye(4), up_source="body", pitch_deg=33.6, roll_deg=-1.0, height_m=3.44
    )
    estimated = replace(camera, focal_uncertainty=0.105, focal_from="horizon")
    assert camera_summary(estimated, 1280) == (
        "camera: 70° lens (estimated from the horizon ± 10%); pitch 34°, roll -1°, 3.4 m above the floor "
        "(up from the body)"
    )
    assert "(the default: not estimated)" in camera_summary(replace(camera, source="default"), 1280)
    assert "(as given)" in camera_summary(replace(camera, source="user"), 1280)


def test_result_json_round_trip(tmp_path: Path) -> None:
    result = _result()
    result.write_json(tmp_path / "r.json")
    document = read_result(tmp_path / "r.json")
    assert document["schema"] == "finepose.result/1"
    assert document["skeleton"]["joints"][10] == "Head" and document["skeleton"]["parents"][16] == 15
    person = document["people"][0]
    assert person["frames"] == [10, 11, 12] and person["joints3d_camera"][1][4] == [None, None, None]
    assert np.allclose(np.array(person["joints3d_world"][0]), np.round(result.people[0].joints3d_world[0], 5))
    assert document["timings"]["detect"] == 1.235 and document["warnings"]
    result.write_npz(tmp_path / "r.npz")
    arrays = np.load(tmp_path / "r.npz")
    assert arrays["person0_joints3d_camera"].shape == (3, 17, 3)


def test_unknown_major_versions_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ResultError, match="not supported"):
        check_schema({"schema": "finepose.result/2"})
    check_schema({"schema": "finepose.result/1.3"})  # a minor version reads fine
    (tmp_path / "bad.json").write_text(json.dumps({"people": []}))
    with pytest.raises(ResultError, match="no 'schema'"):
        read_result(tmp_path / "bad.json")


def _tilted_about_feet(camera_joints: np.ndarray, degrees: float) -> np.ndarray:
    """Each frame's body turned about its feet around the camera's x axis: the lifter's habit, seen from
    above, of lifting people leaning away from their true up."""
    angle = np.radians(degrees)
    rx = np.array([[1, 0, 0], [0, np.cos(angle), -np.sin(angle)], [0, np.sin(angle), np.cos(angle)]])
    feet = camera_joints[:, [3, 6]].mean(axis=1, keepdims=True)
    return np.asarray((camera_joints - feet) @ rx.T + feet)


def _gliding(world: np.ndarray) -> np.ndarray:
    """The walker with its feet carried along under the body instead of planted: averaged over a real
    stride the feet sit under the neck, which a planted foot held for half a second of this walk does not."""
    out = world.copy()
    for ankle, hip in ((3, 1), (6, 4)):
        out[:, ankle, :2] = world[:, hip, :2]
    return out


def test_the_images_vanishing_point_corrects_the_lifters_tilt_from_a_high_camera() -> None:
    """The same high, pitched camera, but the lifted bodies lean 12° off their true up while the 2D shows
    them upright: the bodies alone put the pitch some 13° too steep (the lowest ankles pull it back a
    little); where their feet → neck lines meet in the image brings it back within 3°, and most of the
    camera's height with it."""
    R, t = _camera(3.3, 30.0)
    K = intrinsics_from_fov(1280, 720, 70)
    world = [
        _swaying(_gliding(_walker(150, (-1.5, 6.0), (0.9, -0.4))), seed=1),
        _swaying(_gliding(_walker(150, (1.0, 8.0), (-0.6, 0.0))), 2),
    ]
    cameras = [w @ R.T + t for w in world]
    pixels = [project(c, K) for c in cameras]
    lifted = [_tilted_about_feet(c, 12.0) for c in cameras]
    body_only = fit_floor(lifted, FPS)
    assert body_only.pitch_roll_deg[0] == pytest.approx(43.0, abs=3.0)  # the lifter's tilt, kept
    with_image = fit_floor(lifted, FPS, image=(pixels, K))
    pitch, roll = with_image.pitch_roll_deg
    assert pitch == pytest.approx(30.0, abs=3.0) and abs(roll) < 3.0
    assert with_image.uncertainty_deg is not None and body_only.uncertainty_deg is not None
    assert with_image.uncertainty_deg < body_only.uncertainty_deg
    # the height follows the pitch: 1.7 m too high with the bodies' tilt, within 0.4 m with the image's
    assert body_only.camera_height - 3.3 > 1.0
    assert with_image.camera_height == pytest.approx(3.3, abs=0.4)


def test_a_level_cameras_image_says_little_about_pitch_and_leaves_it_to_the_bodies() -> None:
    """Filmed level, people's lines are parallel whatever a small pitch: the image's estimate is unsure
    in pitch and does not move the bodies' up."""
    R, t = _camera(1.5, 0.0)
    K = intrinsics_from_fov(1280, 720, 60)
    world = [_swaying(_gliding(_walker(150, (-1.0, 6.0), (0.6, 0.0))), seed=3)]
    cameras = [w @ R.T + t for w in world]
    body_only = fit_floor(cameras, FPS)
    with_image = fit_floor(cameras, FPS, image=([project(c, K) for c in cameras], K))
    assert abs(with_image.pitch_roll_deg[0] - body_only.pitch_roll_deg[0]) < 1.0
