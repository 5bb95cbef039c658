"""Build MediaPipe's `pose_landmarker_full.task` bundle for mediapipe 1.2.x, which ships no model.

Recipe (reproducible to the byte; the result is checked against finepose_core.assets.POSE_MODEL_SHA256):

1. download the `mediapipe==0.10.21` wheel from the package index (it still carries the TFLite models
   `mediapipe/modules/pose_detection/pose_detection.tflite` and
   `mediapipe/modules/pose_landmark/pose_landmark_full.tflite`);
2. in a throwaway virtual environment with mediapipe 0.10.21 (the metadata writer of 1.2.2 is broken),
   add TFLite image-normalisation metadata: detector input mean/std 127.5/127.5 (pixels to [-1, 1]),
   landmark input mean 0 std 255 (pixels to [0, 1]); PoseLandmarker reads these to normalise its inputs;
3. store both files, uncompressed, as `pose_detector.tflite` and `pose_landmarks_detector.tflite` in a zip
   with fixed timestamps and permissions, so that the bytes do not depend on the day or the machine.

With `--shared DIR`, an identical bundle already in DIR (the workplace's ../shared/models) is copied
instead, which saves about a minute; its hash is checked all the same.

Usage: python scripts/build_pose_model.py [--output PATH] [--shared DIR] [--force]
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from finepose_core.assets import (
    POSE_MODEL_NAME,
    POSE_MODEL_SHA256,
    AssetError,
    default_pose_model_path,
    sha256_of,
)

log = logging.getLogger("build_pose_model")

SOURCE_WHEEL = "mediapipe==0.10.21"
DETECTOR_IN_WHEEL = "mediapipe/modules/pose_detection/pose_detection.tflite"
LANDMARKER_IN_WHEEL = "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"

# The throwaway environment only needs to import mediapipe 0.10.21's metadata writer. Installing the
# wheel without its dependencies avoids jax/jaxlib (~600 MB); importing `mediapipe` still loads cv2,
# matplotlib and protobuf, so those come along. Pinned so that the writer's output cannot drift.
WRITER_REQUIREMENTS = [
    "flatbuffers==25.12.19",
    "numpy==1.26.4",
    "absl-py==2.5.1",
    "protobuf==4.25.9",
    "attrs==26.1.0",
    "opencv-python-headless==4.11.0.86",
    "matplotlib==3.11.2",
]

# (name in the bundle, file in the wheel, model name in the metadata, input mean, input std)
BUNDLE_ENTRIES = [
    ("pose_detector.tflite", DETECTOR_IN_WHEEL, "pose_detector", 127.5, 127.5),
    ("pose_landmarks_detector.tflite", LANDMARKER_IN_WHEEL, "pose_landmarks_detector", 0.0, 255.0),
]

# Runs inside the throwaway venv: adds image-normalisation metadata and one plain feature entry per output.
WRITER_PROGRAM = """
import sys
from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils

src, dst, name, mean, std = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), float(sys.argv[5])
with open(src, "rb") as handle:
    model = bytearray(handle.read())
writer = metadata_writer.MetadataWriter.create(model)
writer.add_general_info(name).add_image_input(norm_mean=[mean], norm_std=[std])
for _ in writer_utils.get_output_tensor_types(model):
    writer.add_feature_output()
tflite, _ = writer.populate()
with open(dst, "wb") as handle:
    handle.write(tflite)
"""

# Fixed zip metadata: the DOS epoch and owner read/write, whatever the clock and umask say.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_UNIX_MODE = 0o600


def run(command: list[str], what: str) -> None:
    log.info("  %s", what)
    log.debug("  $ %s", " ".join(command))
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise AssetError(f"{what} failed (exit {result.returncode}):\n{tail}")


def download_wheel(workdir: Path) -> Path:
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.11",
            "--platform",
            "manylinux_2_28_x86_64",
            "--dest",
            str(workdir),
            SOURCE_WHEEL,
        ],
        f"downloading {SOURCE_WHEEL}",
    )
    wheels = sorted(workdir.glob("mediapipe-0.10.21-*.whl"))
    if not wheels:
        raise AssetError(f"pip reported success but no {SOURCE_WHEEL} wheel is in {workdir}")
    return wheels[0]


def make_writer_venv(workdir: Path, wheel: Path) -> Path:
    venv = workdir / "writer-venv"
    run([sys.executable, "-m", "venv", str(venv)], "creating the throwaway venv")
    python = venv / "bin" / "python"
    run([str(python), "-m", "pip", "install", "--quiet", *WRITER_REQUIREMENTS], "installing writer deps")
    run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)], "installing mediapipe")
    return python


def build(output: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="finepose-posemodel-") as tmp:
        workdir = Path(tmp)
        wheel = download_wheel(workdir)
        with zipfile.ZipFile(wheel) as archive:
            for _, member, *_ in BUNDLE_ENTRIES:
                archive.extract(member, workdir / "wheel")
        python = make_writer_venv(workdir, wheel)
        written: list[tuple[str, Path]] = []
        for bundle_name, member, model_name, mean, std in BUNDLE_ENTRIES:
            target = workdir / bundle_name
            program = [str(python), "-c", WRITER_PROGRAM, str(workdir / "wheel" / member), str(target)]
            run([*program, model_name, str(mean), str(std)], f"writing metadata into {bundle_name}")
            written.append((bundle_name, target))
        partial = output.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_STORED) as bundle:
            for bundle_name, path in written:
                info = zipfile.ZipInfo(bundle_name, date_time=ZIP_DATE_TIME)
                info.compress_type = zipfile.ZIP_STORED
                info.external_attr = ZIP_UNIX_MODE << 16
                bundle.writestr(info, path.read_bytes())
        check_hash(partial)
        partial.replace(output)


def check_hash(path: Path) -> None:
    actual = sha256_of(path)
    if actual != POSE_MODEL_SHA256:
        path.unlink()
        raise AssetError(f"built {path.name} has sha256 {actual}, expected {POSE_MODEL_SHA256}; removed it")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=default_pose_model_path())
    parser.add_argument("--shared", type=Path, help="folder that may already hold an identical bundle")
    parser.add_argument("--force", action="store_true", help="rebuild even if a valid bundle exists")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    output: Path = args.output
    output.parent.mkdir(parents=True, exist_ok=True)
    if not args.force and output.is_file() and sha256_of(output) == POSE_MODEL_SHA256:
        log.info("pose model: %s already built (sha256 ok)", output)
        return 0
    try:
        candidate = args.shared / POSE_MODEL_NAME if args.shared else None
        if not args.force and candidate is not None and candidate.is_file():
            if sha256_of(candidate) == POSE_MODEL_SHA256:
                shutil.copyfile(candidate, output)
                log.info("pose model: copied from %s (sha256 ok)", candidate)
                return 0
            log.warning("pose model: %s has the wrong sha256; building instead", candidate)
        log.info("pose model: building from %s (about a minute)", SOURCE_WHEEL)
        build(output)
        log.info("pose model: built %s (sha256 ok)", output)
    except (AssetError, OSError) as error:
        log.error("error: could not produce the pose model: %s", error)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
