"""Command-line entry point: ``python starter.py --help`` lists the commands (CONTRACT.md)."""

from service.cli.app import main

if __name__ == "__main__":
    raise SystemExit(main())
