"""The one flow: every record's path from its source to its sinks, written once (``flow.path``)."""
