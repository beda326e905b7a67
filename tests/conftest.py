"""The wire format of the test session, and Hypothesis without deadlines.

`make test` (deploy/test.sh) starts a schema registry and exports ``SCHEMA_REGISTRY_URL``: the
workers and commands the tests start then write the Confluent wire format, the default. A
session without a registry (plain ``pytest``) runs as a deployment without one does, with
``PURPOSEGATE_WIRE_FORMAT=single-object``, rather than failing every worker at start-up; the
tests that need a registry skip there, saying why.

No Hypothesis example has a deadline: speed is measured in ``bench/``, and `make test` runs
the unit tests while the broker and registry start beside them (one slow example is not a
fault).
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("purposegate", deadline=None)
settings.load_profile("purposegate")

if not os.environ.get("SCHEMA_REGISTRY_URL"):
    os.environ.setdefault("PURPOSEGATE_WIRE_FORMAT", "single-object")
