"""`python -m server [--host 127.0.0.1] [--port 8765] [--checkpoint PATH] [--device auto|cpu|cuda]
[--workdir DIR] [--token T]`: load the model once and serve jobs over HTTP until interrupted."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from server import __version__
from server.config import DEFAULT_PORT, ServerConfig, default_workdir


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m server", description="The local FinePOSE server.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
    parser.add_argument("--checkpoint", help="model checkpoint (default: the project's)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument(
        "--workdir", type=Path, default=None, help=f"uploads and results ({default_workdir()})"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("FINEPOSE_TOKEN"),
        help="bearer token clients must send ($FINEPOSE_TOKEN); required off loopback",
    )
    parser.add_argument("--max-upload-mb", type=float, default=2048.0, help="upload size limit (MiB)")
    parser.add_argument("--max-queue", type=int, default=16, help="jobs that may wait (then 503)")
    parser.add_argument("--keep-days", type=float, default=7.0, help="delete finished jobs older than this")
    parser.add_argument("--max-storage-gb", type=float, default=20.0, help="cap on the work directory")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--version", action="version", version=f"finepose server {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = ServerConfig(
            host=args.host,
            port=args.port,
            checkpoint=args.checkpoint,
            device=args.device,
            workdir=args.workdir or default_workdir(),
            token=args.token or None,
            max_upload_bytes=int(args.max_upload_mb * 1024**2),
            max_queue=args.max_queue,
            max_age_days=args.keep_days,
            max_storage_gb=args.max_storage_gb,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # heavy imports after the arguments are checked, so that --help and mistakes answer at once
    import uvicorn

    from finepose_core.pipeline import Pipeline, PipelineConfig, PipelineError
    from server.app import create_app

    try:
        config.workdir.mkdir(parents=True, exist_ok=True)
        pipeline = Pipeline(PipelineConfig(checkpoint=config.checkpoint, device=config.device))
    except (PipelineError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    app = create_app(config, pipeline)
    logging.getLogger(__name__).info(
        "serving %s on http://%s:%d (work directory %s)",
        pipeline.lifter.name,
        config.host,
        config.port,
        config.workdir,
    )
    try:
        uvicorn.run(app, host=config.host, port=config.port, log_level=args.log_level)
    except (OSError, SystemExit) as error:  # port in use: uvicorn logs it and exits with 1
        print(f"error: could not serve on {config.host}:{config.port}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
