"""`python -m server [--host ADDRESS] [--port N] [--checkpoint PATH] [--device DEVICE] …`: load the model once
and serve jobs over HTTP until interrupted. The flags are ServerConfig's fields (`--help` lists them)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from pydantic import ValidationError

from finepose_core.option_flags import add_flags, given_options
from finepose_core.option_specs import describe_errors, option_specs
from server import __version__
from server.config import ServerConfig


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m server", description="The local FinePOSE server.")
    add_flags(parser, option_specs(ServerConfig))
    parser.add_argument("--version", action="version", version=f"finepose server {__version__}")
    return parser


def config_from(argv: list[str] | None) -> ServerConfig:
    values = given_options(build_parser().parse_args(argv), option_specs(ServerConfig))
    if "token" not in values and os.environ.get("FINEPOSE_TOKEN"):
        values["token"] = os.environ["FINEPOSE_TOKEN"]
    return ServerConfig.model_validate(values)


def main(argv: list[str] | None = None) -> int:
    try:
        config = config_from(argv)
    except ValidationError as error:
        print(f"error: {describe_errors(error)}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # heavy imports after the arguments are checked, so that --help and mistakes answer at once
    import uvicorn

    from finepose_core.pipeline import Pipeline, PipelineConfig, PipelineError
    from server.app import create_app

    try:
        config.work_directory.mkdir(parents=True, exist_ok=True)
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
        config.work_directory,
    )
    try:
        uvicorn.run(app, host=config.host, port=config.port, log_level=config.log_level)
    except (OSError, SystemExit) as error:  # port in use: uvicorn logs it and exits with 1
        print(f"error: could not serve on {config.host}:{config.port}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
