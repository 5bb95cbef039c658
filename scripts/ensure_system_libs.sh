#!/usr/bin/env bash
# bpy 5.0.1 (Blender as a Python module) loads these X11/GL libraries even when it runs headless.
# Installs the missing ones with apt-get when run as root; otherwise stops with the exact command to run.
set -euo pipefail

packages=(libx11-6 libxrender1 libxfixes3 libxi6 libxkbcommon0 libsm6 libice6 libgl1 libxext6)

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "system libraries for bpy: all present"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: bpy needs these system libraries, and this is not a Debian/Ubuntu system: ${missing[*]}" >&2
    echo "Install the equivalents with your package manager, then run 'make setup' again." >&2
    exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "error: bpy needs system libraries that are missing: ${missing[*]}" >&2
    echo "Run this, then 'make setup' again:" >&2
    echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

echo "installing system libraries for bpy: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
