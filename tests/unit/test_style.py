"""Every module of ours says its one job in a docstring; no line counts.

A module is as long as its one job needs, and a function as long as its steps (cut by meaning,
never by a line count): no size is checked here. ``docs/design.md`` names the long modules and
why; ruff's complexity cap (C90, ``pyproject.toml``) keeps functions simple. The rest of what
protects the design is checked beside this: the folder table, no circles and no function-level
imports of our own modules (``test_layers.py``), docstring examples that run
(``test_docstrings.py``).
"""

from __future__ import annotations

import ast
from typing import Final

import pytest

from tests.unit.layers import our_sources

#: Test packages and modules say what they test in their names; everything else says its job.
EXEMPT: Final = "tests"


def style_faults(module: str, source: str) -> list[str]:
    """``module`` when it has no docstring, one line; nothing for a module of any length."""
    if module == EXEMPT or module.startswith(EXEMPT + "."):
        return []
    return [] if ast.get_docstring(ast.parse(source)) else [f"{module}: no docstring"]


def test_when_tree_read_then_every_module_says_its_job() -> None:
    faults = [f for module, source in our_sources().items() for f in style_faults(module, source)]
    assert faults == []


def _function(lines: int) -> str:
    return '"""A module."""\n\n\ndef f():\n' + "    x = 1\n" * (lines - 1)


@pytest.mark.parametrize(
    ("module", "source", "faults"),
    [
        # a long module is no fault by itself
        ("policy.a", '"""A module."""\n' + "x = 1\n" * 900, 0),
        # nor a long function (complexity is ruff's to judge, not its length)
        ("policy.a", _function(120), 0),
        # a module without a docstring is
        ("policy.a", "x = 1\n", 1),
        # a comment is no docstring
        ("broker.a", "# the broker\nx = 1\n", 1),
        # a test module needs none
        ("tests.unit.x", "x = 1\n", 0),
    ],
)
def test_when_modules_read_then_only_one_without_a_docstring_is_named(
    module: str, source: str, faults: int
) -> None:
    assert len(style_faults(module, source)) == faults
