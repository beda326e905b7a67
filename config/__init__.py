"""The one settings object, read from the environment once (``config.settings``)."""
