"""A process that waits until it is killed: ``python -m tests.fakes.idle METADATA``.

Its command line names a session's metadata file like a worker's, so the liveness tests can
tell a process that runs "the worker module" on a file (this module, passed as ``worker_module``)
from any other process, without training or touching the file.
"""

from __future__ import annotations

import signal
import sys

if __name__ == "__main__":
    # Exit 0 on SIGTERM, like a worker that checkpointed; SIGKILL still ends it at once.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    print("ready", flush=True)
    while True:
        signal.pause()
