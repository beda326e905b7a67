"""One module per ``purposegate`` subcommand: ``register(subparsers)`` and ``run(args, settings)``."""
