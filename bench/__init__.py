"""Benchmarks (`make bench`, `make bench-report`), never run by `make test`, and the worker
launcher and hand-made input lines they share with the integration tests."""
