"""Every docstring example (``>>>``) of our packages runs, and shows what it says."""

from __future__ import annotations

import doctest
import importlib

import pytest

from tests.unit.layers import our_sources

WITH_EXAMPLES = sorted(
    name
    for name, source in our_sources().items()
    if ">>>" in source and not name.startswith("tests")
)


def test_when_packages_scanned_then_examples_are_found() -> None:
    assert len(WITH_EXAMPLES) >= 4, WITH_EXAMPLES


@pytest.mark.parametrize("module", WITH_EXAMPLES)
def test_when_docstring_examples_run_then_each_shows_what_it_says(module: str) -> None:
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
