"""Layers only point down, no import circles, no function-level imports of our own modules; the
folder table of docs/design.md lists every package and is the rule book (``tests/unit/layers``)."""

from __future__ import annotations

import pytest

from tests.unit.layers import (
    DESIGN,
    REPO,
    Layer,
    import_faults,
    imports,
    layers_from_design,
    our_sources,
)

LAYERS = layers_from_design(DESIGN.read_text(encoding="utf-8"))
#: A small stand-in for the real table, for the synthetic cases below.
TOY = {
    "low": Layer("low", frozenset()),
    "high": Layer("high", frozenset({"low"})),
}


def test_when_tree_checked_against_design_table_then_no_fault() -> None:
    assert import_faults(our_sources(), LAYERS) == []


def test_when_design_table_read_then_every_row_is_a_folder_or_module_of_the_tree() -> None:
    assert len(LAYERS) >= 8
    for name in LAYERS:
        path = REPO / name.replace(".", "/")
        assert path.is_dir() or path.with_suffix(".py").is_file(), name


def test_when_design_table_read_then_every_package_of_ours_has_its_own_row() -> None:
    packages = {
        str(p.parent.relative_to(REPO)).replace("/", ".")
        for p in REPO.glob("*/**/__init__.py")
        if not str(p.relative_to(REPO)).startswith(("tests", ".", "deploy"))
    }
    assert sorted(packages - LAYERS.keys()) == []


def test_when_tests_read_then_no_test_module_imports_another() -> None:
    sources = our_sources()
    modules = frozenset(sources)
    found = [
        f"{edge.source}:{edge.line} imports {edge.target}"
        for module, source in sources.items()
        if module.startswith("tests")
        for edge in imports(module, source, modules)
        if edge.target.rsplit(".", 1)[-1].startswith("test_")
    ]
    assert found == []  # shared helpers live in modules not named test_*


@pytest.mark.parametrize(
    ("sources", "fault"),
    [
        # a lower layer imports a higher one
        ({"low.a": "from high import b\n", "high.b": ""}, "low may not import high"),
        # the same through a plain import
        ({"low.a": "import high.b\n", "high.b": ""}, "low may not import high"),
        # a circle inside one layer
        ({"low.a": "from low import b\n", "low.b": "import low.a\n"}, "import circle: low.a"),
        # a circle hidden behind TYPE_CHECKING is still a circle
        (
            {
                "low.a": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import low.b\n",
                "low.b": "import low.a\n",
            },
            "import circle",
        ),
        # a function-level import of our own module
        ({"high.a": "def f():\n    from low import b\n", "low.b": ""}, "function-level import"),
        # a method-level one too
        ({"high.a": "class C:\n    def f(self):\n        import low.b\n", "low.b": ""}, "function"),
        # a module that no row of the table owns
        ({"elsewhere.a": ""}, "no row of the folder table owns it"),
        # a relative import resolved to the layer it reaches
        ({"low.a": "from ..high import b\n", "high.b": ""}, "low may not import high"),
    ],
)
def test_when_rules_broken_then_each_breach_is_named(sources: dict[str, str], fault: str) -> None:
    faults = import_faults(sources, TOY)
    assert any(fault in f for f in faults), faults


@pytest.mark.parametrize(
    "sources",
    [
        # a higher layer imports a lower one
        {"high.a": "from low import b\n", "low.b": ""},
        # a lazy third-party import inside a function
        {"low.a": "def f():\n    import yaml\n"},
        # an import of the layer's own other module
        {"low.a": "from low import b\n", "low.b": ""},
    ],
)
def test_when_rules_kept_then_no_fault(sources: dict[str, str]) -> None:
    assert import_faults(sources, TOY) == []
