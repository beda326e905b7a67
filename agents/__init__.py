"""Faust agents: decode → decide → send → count, a few lines each around the shared engine."""
