"""Peak memory of the server: resident set size after loading the model (idle) and during a job.

Starts `python -m server` (the default checkpoint, CPU) on a free port, reads VmRSS / VmHWM from /proc
(Linux), submits the 10-second clip of benchmarks/end_to_end.py with the balanced preset, and samples the
resident size every 50 ms until the job is done.

Usage: python benchmarks/server_memory.py [--preset balanced] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from server.ports import free_port

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.end_to_end import make_clip  # noqa: E402


def memory_mb(pid: int) -> dict[str, float]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="balanced")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    clip, description = make_clip(REPO / "runs/bench/clip_10s_30fps.mp4")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as work:
        command = [sys.executable, "-m", "server", "--port", str(port), "--workdir", work, "--device", "cpu"]
        server = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/v1/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.2)
            time.sleep(1.0)  # settle
            idle = memory_mb(server.pid)
            with clip.open("rb") as video:
                answer = httpx.post(
                    f"{url}/v1/jobs",
                    files={"video": (clip.name, video, "video/mp4")},
                    data={"options": json.dumps({"preset": args.preset})},
                    timeout=120,
                )
            job = answer.json()["id"]
            peak = idle["VmRSS"]
            while True:
                peak = max(peak, memory_mb(server.pid)["VmRSS"])
                if httpx.get(f"{url}/v1/jobs/{job}", timeout=10).json()["state"] in (
                    "done",
                    "failed",
                    "cancelled",
                ):
                    break
                time.sleep(0.05)
            high_water = memory_mb(server.pid)["VmHWM"]
        finally:
            server.terminate()
            server.wait(30)
    report = {
        "clip": description,
        "preset": args.preset,
        "idle_rss_mb": round(idle["VmRSS"]),
        "job_peak_rss_mb": round(peak),
        "high_water_mb": round(high_water),
    }
    print(f"server (default checkpoint, CPU): idle {report['idle_rss_mb']} MB resident")
    print(f"during a {args.preset} job on the 10 s clip: {report['job_peak_rss_mb']} MB sampled peak")
    print(f"high-water mark: {report['high_water_mb']} MB")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
