"""The ``starter.py`` command line: one module per subcommand under ``service.cli.commands``."""
