"""Render the README's picture of a lift: `python scripts/render_readme_image.py [--frame N] [--out PNG]`.

Runs the main job on the bundled sample clip (finepose_core, no server needed), applies the result with the
add-on's own code in Blender (the bpy wheel): one generated armature per person and the matching camera, then
renders the armatures over the video with Workbench.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", type=Path, default=REPO / "samples/office_walk.mp4")
    parser.add_argument("--frame", type=int, default=70, help="video frame to render")
    parser.add_argument("--out", type=Path, default=REPO / "docs/images/lift_office_walk.png")
    parser.add_argument("--preset", default="balanced")
    args = parser.parse_args(argv)

    from finepose_core.options import JobOptions
    from finepose_core.pipeline import Pipeline

    result = Pipeline().run(args.video, JobOptions(preset=args.preset))
    result_path = args.out.with_suffix(".json")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result.write_json(result_path)

    import bpy

    from blender_addon.apply import ApplyOptions, apply_result
    from blender_addon.preview import add_bone_meshes, add_video_backdrop, render_still
    from blender_addon.retarget.result_file import read_result

    bpy.ops.wm.read_factory_settings(use_empty=True)
    lifted = read_result(result_path)
    summary = apply_result(bpy.context, lifted, ApplyOptions(video_path=str(args.video)))
    for index, name in enumerate(summary.armatures):
        add_bone_meshes(bpy.context, bpy.data.objects[name], index)
    assert summary.camera is not None
    add_video_backdrop(bpy.context, bpy.data.objects[summary.camera], str(args.video), lifted.frame_count)
    render_still(bpy.context, args.out, args.frame + 1)
    result_path.unlink()
    print(f"rendered {args.out} ({', '.join(summary.armatures)}, frame {args.frame})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
