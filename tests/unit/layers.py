"""The import rules of docs/design.md, checked with the standard library's ``ast``.

The folder table of ``docs/design.md`` is the one home of the rules: each row names a folder (or
module), what it owns and which of the other rows it may import. ``import_faults`` reads every
module of ours and reports, one line each:

* a module that no row of the table owns;
* an import of a row the importing row may not import (a lower layer reaching up);
* an import circle among our modules (imports under ``if TYPE_CHECKING:`` count too);
* an import of our own modules inside a function or class (lazy imports of third-party
  modules are fine; ours would hide a circle or a layer breach).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parents[2]
DESIGN: Final = REPO / "docs" / "design.md"
#: Top-level packages that are ours (everything else imported is third-party or stdlib).
OURS: Final = (
    "policy",
    "config",
    "wire",
    "flow",
    "office",
    "broker",
    "agents",
    "cli",
    "bench",
    "schemas",
    "tests",
)
#: A table row: | `folder/` | owns | `a/`, `b/` |
ROW: Final = re.compile(r"^\|\s*`(?P<folder>[\w/.]+)`\s*\|(?P<owns>[^|]*)\|(?P<may>[^|]*)\|\s*$")


@dataclass(frozen=True)
class Layer:
    """One row of the folder table, as dotted module prefixes."""

    name: str  # e.g. "wire"
    may_import: frozenset[str]


def dotted(folder: str) -> str:
    """``wire/`` → ``wire``; ``config/settings.py`` → ``config.settings``."""
    return folder.strip("/").removesuffix(".py").replace("/", ".")


def layers_from_design(text: str) -> dict[str, Layer]:
    """The rows of the folder table (the first table whose header has ``may import``)."""
    layers: dict[str, Layer] = {}
    in_table = False
    for line in text.splitlines():
        if line.startswith("|") and "may import" in line:
            in_table = True
            continue
        if in_table and not line.startswith("|"):
            break
        match = ROW.match(line) if in_table else None
        if match:
            may = {dotted(name) for name in re.findall(r"`([\w/.]+)`", match["may"])}
            name = dotted(match["folder"])
            layers[name] = Layer(name, frozenset(may))
    return layers


def module_name(path: Path, root: Path = REPO) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def our_sources(root: Path = REPO) -> dict[str, str]:
    """Module name → source of every Python module of ours."""
    sources: dict[str, str] = {}
    for package in OURS:
        for path in sorted((root / package).rglob("*.py")):
            sources[module_name(path, root)] = path.read_text(encoding="utf-8")
    return sources


def layer_of(module: str, layers: Mapping[str, Layer]) -> Layer | None:
    """The row owning ``module``: the longest dotted prefix among the table's rows."""
    best: Layer | None = None
    for name, layer in layers.items():
        if (module == name or module.startswith(name + ".")) and (
            best is None or len(name) > len(best.name)
        ):
            best = layer
    return best


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    nested: bool  # inside a function or class body


def imports(module: str, source: str, modules: frozenset[str]) -> Iterator[Edge]:
    """Every import of one of ``modules`` in ``source`` (relative imports resolved)."""
    tree = ast.parse(source)
    for node, nested in _import_nodes(tree, nested=False):
        for target in _targets(module, node, modules):
            yield Edge(module, target, node.lineno, nested)


def _import_nodes(
    node: ast.AST, nested: bool
) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, nested
        inner = nested or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        yield from _import_nodes(child, inner)


def _targets(module: str, node: ast.Import | ast.ImportFrom, modules: frozenset[str]) -> list[str]:
    if isinstance(node, ast.Import):
        return [_ours(alias.name, modules) for alias in node.names if _ours(alias.name, modules)]
    base = node.module or ""
    if node.level:
        package = module.split(".")[: -node.level] if node.level else []
        base = ".".join([*package, base] if base else package)
    found = []
    for alias in node.names:
        full = f"{base}.{alias.name}"
        target = full if full in modules else _ours(base, modules)
        if target:
            found.append(target)
    return found


def _ours(name: str, modules: frozenset[str]) -> str:
    """``name`` or its nearest enclosing module of ours; "" when it is not ours."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return ""


def import_faults(sources: Mapping[str, str], layers: Mapping[str, Layer]) -> list[str]:
    """Every breach of the table's rules among ``sources`` (module name → source)."""
    modules = frozenset(sources)
    faults: list[str] = []
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module in sorted(modules):
        own = layer_of(module, layers)
        if own is None:
            faults.append(f"{module}: no row of the folder table owns it")
        for edge in imports(module, sources[module], modules):
            graph[module].add(edge.target)
            where = f"{module}:{edge.line}"
            if edge.nested:
                faults.append(f"{where}: function-level import of {edge.target}")
            target = layer_of(edge.target, layers)
            if own is None or target is None or target.name == own.name:
                continue
            if target.name not in own.may_import:
                faults.append(f"{where}: {own.name} may not import {target.name} ({edge.target})")
    faults += [f"import circle: {' -> '.join(cycle)}" for cycle in circles(graph)]
    return faults


def circles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The modules of each import circle (those that reach each other), one list per circle."""
    reach = {node: _reachable(graph, node) for node in graph}
    seen: set[str] = set()
    found: list[list[str]] = []
    for node in sorted(graph):
        if node in seen or node not in reach[node]:
            continue
        circle = sorted(other for other in reach[node] if node in reach.get(other, ()))
        seen.update(circle)
        found.append(circle)
    return found


def _reachable(graph: Mapping[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen
