"""Small functions: no function of ours over 40 lines.

A module is as long as its one job needs (cut by meaning, never by a line count): its length is
no longer checked here; ``docs/design.md`` names the long modules and why. Integration test
scenarios (``tests/integration/test_*``) are exempt from the function limit: three of them read
as one story of a broker or worker fault, start to end.
"""

from __future__ import annotations

import ast
from typing import Final

import pytest

from tests.unit.layers import our_sources

MAX_FUNCTION_LINES: Final = 40
SCENARIOS: Final = "tests.integration.test_"


def style_faults(module: str, source: str) -> list[str]:
    """Every function of ``source`` over the limit, one line each."""
    faults: list[str] = []
    if module.startswith(SCENARIOS):
        return faults
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                faults.append(f"{module}:{node.lineno} {node.name}: {length} lines")
    return faults


def test_when_tree_measured_then_every_function_is_small() -> None:
    faults = [f for module, source in our_sources().items() for f in style_faults(module, source)]
    assert faults == []


def _function(lines: int) -> str:
    return "def f():\n" + "    x = 1\n" * (lines - 1)


@pytest.mark.parametrize(
    ("module", "source", "faults"),
    [
        # a long module is no fault by itself
        ("policy.a", "x = 1\n" * 900, 0),
        # a function of 40 lines passes
        ("policy.a", _function(40), 0),
        # one of 41 does not, nor a method of 41
        ("policy.a", _function(41), 1),
        (
            "policy.a",
            "class C:\n" + "".join(f"    {line}\n" for line in _function(41).splitlines()),
            1,
        ),
        # an integration scenario may be longer
        ("tests.integration.test_x", _function(60), 0),
    ],
)
def test_when_sizes_measured_then_only_what_is_over_the_limit_is_named(
    module: str, source: str, faults: int
) -> None:
    assert len(style_faults(module, source)) == faults
