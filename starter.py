"""Command-line entry point: ``python starter.py --help`` lists the commands (docs/interface.md)."""

import os
import sys

from cli.app import main

if __name__ == "__main__":
    status = main()
    # Skip interpreter teardown: the Temporal client's Rust threads can abort it after the
    # command's work is done and printed (temporalio/sdk-python#300), turning exit 0 or 3
    # into a SIGABRT. Everything the command wrote is committed and flushed by now.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
