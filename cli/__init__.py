"""The ``starter.py`` command line: one module per subcommand under ``cli.commands``."""
