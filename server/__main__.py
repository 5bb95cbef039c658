"""`python -m server [--host ADDRESS] [--port N] [--checkpoint PATH] [--device DEVICE] …`: load the model once
and serve jobs over HTTP until interrupted. The flags are ServerConfig's fields (`--help` lists them)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

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


class TokenFileError(ValueError):
    pass


def config_from(argv: list[str] | None) -> ServerConfig:
    """The settings from the flags; the token from --token, --token-file or $FINEPOSE_TOKEN, in that order."""
    values = given_options(build_parser().parse_args(argv), option_specs(ServerConfig))
    if "token" not in values and values.get("token_file"):
        path = Path(values["token_file"]).expanduser()
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as error:
            raise TokenFileError(f"--token-file {path}: cannot read it ({error})") from None
        if not token:
            raise TokenFileError(f"--token-file {path}: the file is empty")
        values["token"] = token
    if "token" not in values and os.environ.get("FINEPOSE_TOKEN"):
        values["token"] = os.environ["FINEPOSE_TOKEN"]
    return ServerConfig.model_validate(values)


def token_on_command_line(argv: list[str]) -> bool:
    return any(arg == "--token" or arg.startswith("--token=") for arg in argv)


def main(argv: list[str] | None = None) -> int:
    try:
        config = config_from(argv)
    except ValidationError as error:
        print(f"error: {describe_errors(error)}", file=sys.stderr)
        return 2
    except TokenFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    log = logging.getLogger(__name__)
    if token_on_command_line(sys.argv[1:] if argv is None else argv):
        log.warning(
            "--token on the command line is visible to other users of this machine (ps); "
            "set $FINEPOSE_TOKEN or use --token-file PATH instead"
        )
    # heavy imports after the arguments are checked, so that --help and mistakes answer at once
    import uvicorn

    from finepose_core.pipeline import Pipeline, PipelineConfig, PipelineError
    from server.app import create_app
    from server.connections import ConnectionLimits, limited_protocol

    try:
        config.work_directory.mkdir(parents=True, exist_ok=True)
        pipeline = Pipeline(PipelineConfig(checkpoint=config.checkpoint, device=config.device))
        pipeline.warm_up()
    except (PipelineError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    app = create_app(config, pipeline)
    limits = ConnectionLimits(config.header_timeout, config.body_timeout, config.max_connections)
    log.info(
        "serving %s on http://%s:%d (work directory %s)",
        pipeline.lifter.name,
        config.host,
        config.port,
        config.work_directory,
    )
    try:
        uvicorn.run(
            app,
            host=config.host,
            port=config.port,
            log_level=config.log_level,
            http=limited_protocol(limits),
            timeout_keep_alive=max(1, round(config.keep_alive_timeout)),
        )
    except (OSError, SystemExit) as error:  # port in use: uvicorn logs it and exits with 1
        print(f"error: could not serve on {config.host}:{config.port}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
