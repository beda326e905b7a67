"""One module per ``purposegate`` subcommand: ``register(subparsers)``, ``run(args, settings)``."""
