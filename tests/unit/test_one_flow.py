"""One flow (issue 23, docs/design.md): ``step`` is called for a stream in one place,
``flow.path``'s ``Decider``; every runner (``dry-run``, ``diff-policy``, ``linkability``, the
office's cases, the worker, shadow mode, the bench) goes through it. Checked on the source
tree with ``ast``: no module outside the engine and the flow imports ``policy.step``."""

from __future__ import annotations

import ast
from typing import Final

import pytest

from tests.unit.layers import our_sources

#: Who may import ``policy.step``: the engine's own modules and the flow; ``policy.diff`` decides
#: one event under the shadow policy for the flow's ``Decider.shadowed``. Tests may too.
ALLOWED: Final = ("policy.", "flow.path")


def step_importers(sources: dict[str, str]) -> list[str]:
    """The modules that import ``policy.step`` and may not."""
    found = []
    for module, source in sources.items():
        if module.startswith(ALLOWED) or module == "tests" or module.startswith("tests."):
            continue
        for node in ast.walk(ast.parse(source)):
            imported = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(name == "policy.step" for name in imported):
                found.append(module)
                break
    return found


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        # a runner with its own loop over step: named
        ({"cli.runner": "from policy.step import step\n"}, ["cli.runner"]),
        # the flow itself: allowed
        ({"flow.path": "from policy.step import step\n"}, []),
        # a runner through the flow: fine
        ({"bench.x": "from flow.path import InOrder\n"}, []),
    ],
)
def test_when_a_module_imports_step_then_it_is_named_unless_it_is_the_flow(
    sources: dict[str, str], expected: list[str]
) -> None:
    assert step_importers(sources) == expected


def test_when_tree_read_then_only_the_flow_runs_step_over_a_stream() -> None:
    assert step_importers(our_sources()) == []
