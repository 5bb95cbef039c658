"""Build the Blender extension zip: `python scripts/build_extension.py [--out dist]`.

The zip holds blender_addon/ at its root (manifest included, caches excluded), with its options schema
generated afresh from the options' definitions (scripts/build_options_schema.py), plus `_project.json`, which
records this project's folder so that the installed add-on's "start a local server" finds the project's
`.venv`. Install it with Edit → Preferences → Get Extensions → Install from Disk, or
`blender --command extension install-file -r user_default dist/finepose_lift-<version>.zip`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ADDON = REPO / "blender_addon"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from server.client_schema import SCHEMA_PATH, render  # noqa: E402


def build(out_dir: Path) -> Path:
    manifest = tomllib.loads((ADDON / "blender_manifest.toml").read_text(encoding="utf-8"))
    target = out_dir / f"{manifest['id']}-{manifest['version']}.zip"
    schema = render()
    if SCHEMA_PATH.read_text(encoding="utf-8") != schema:
        SCHEMA_PATH.write_text(schema, encoding="utf-8")
    out_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(ADDON.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                archive.write(path, path.relative_to(ADDON).as_posix())
        archive.writestr("_project.json", json.dumps({"project_dir": str(REPO)}) + "\n")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "dist")
    args = parser.parse_args(argv)
    print(build(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
