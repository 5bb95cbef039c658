"""Keep MediaPipe's native start-up chatter off the user's terminal.

When a PoseLandmarker starts and runs its first frame, MediaPipe's C++ code (TFLite, absl logging) writes
half a dozen lines straight to file descriptor 2 — an unaligned tensor buffer, the XNNPACK delegate, a
feedback manager disabled, a projection calculator note — none of which the user can act on, and no
environment variable silences them all. This swaps descriptor 2 for a temporary file for the duration and
hands what was written to this module's logger at DEBUG level (`--verbose` runs still see it).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


@contextmanager
def native_stderr_to_log() -> Iterator[None]:
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no descriptor 2 (some embedded interpreters): nothing to redirect
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().decode("utf-8", errors="replace").splitlines():
                if line.strip():
                    log.debug("mediapipe: %s", line)
