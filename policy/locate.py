"""Where a policy fault is in the file: the entry's line and column, and a route named by what
it is (``route septem-cargo/fulfilment from orders``) instead of its index (``routes[2]``),
which means nothing to the person who wrote the file and changes when a route is added above.

The rules name entries by path (``routes[2].when[0].country``, ``inputs.orders.fields.email``,
``recipients.affectus``); the same text is composed again by PyYAML into nodes, which keep their
marks, and the path is followed as far as it goes. Pure: the text comes in, no I/O.

>>> text = "routes:\\n  - {recipient: a, purpose: b, source: orders,\\n     when: [{x: 1}]}\\n"
>>> locate(["routes[0].when[0].x: never holds"], text)
['route a/b from orders, when[0].x: never holds (line 3, column 14)']
"""

from __future__ import annotations

import re
from typing import Final

import yaml

#: ``<path>: <message>``, the path made of names, ``[n]`` indexes and keys such as ``items[]``.
FAULT: Final = re.compile(r"^(?P<path>[A-Za-z_][\w\-\[\]{}.]*): (?P<message>.*)$", re.DOTALL)
ROUTE: Final = re.compile(r"^routes\[(?P<index>\d+)\]\.?")
STEP: Final = re.compile(r"\[(\d+)\]|([^.\[]+(?:\[\]|\{\})?)")

Node = yaml.Node


def locate(faults: list[str], text: str) -> list[str]:
    """``faults`` with each entry's line and column, and routes named; a fault whose path is
    not in the file (or a file PyYAML cannot compose) is left as it is."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return faults
    return [_located(fault, root) for fault in faults] if root is not None else faults


def _located(fault: str, root: Node) -> str:
    match = FAULT.match(fault)
    if match is None:
        return fault
    path, message = match["path"], match["message"]
    node = _follow(root, path)
    if node is root:
        return fault
    where = _route_name(root, path) or path
    mark = node.start_mark
    return f"{where}: {message} (line {mark.line + 1}, column {mark.column + 1})"


def _follow(root: Node, path: str) -> Node:
    """The deepest node the path reaches; a mapping entry at the end: its key, where the entry
    is written."""
    node = root
    steps = STEP.findall(path)
    for number, (index, name) in enumerate(steps, start=1):
        found = _entry(node, int(index) if index else name)
        if found is None:
            break
        key, node = found
        if number == len(steps):
            return key
    return node


def _child(node: Node, step: int | str) -> Node | None:
    found = _entry(node, step)
    return found[1] if found else None


def _entry(node: Node, step: int | str) -> tuple[Node, Node] | None:
    """``(where the entry is named, its value)``: for a list item, the item twice."""
    if isinstance(node, yaml.SequenceNode):
        if isinstance(step, int):
            return (node.value[step],) * 2 if step < len(node.value) else None
        item = next((i for i in node.value if _scalar(i, "id") == step), None)
        return (item, item) if item is not None else None
    if isinstance(node, yaml.MappingNode) and isinstance(step, str):
        return next(((k, v) for k, v in node.value if k.value == step), None)
    return None


def _scalar(node: Node, key: str) -> str | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    for k, v in node.value:
        if k.value == key and isinstance(v, yaml.ScalarNode):
            return str(v.value)
    return None


def _route_name(root: Node, path: str) -> str | None:
    """``route <recipient>/<purpose> from <source>[, rest of the path]`` for a route's path."""
    match = ROUTE.match(path)
    if match is None:
        return None
    route = _child(_child(root, "routes") or root, int(match["index"]))
    if route is None:
        return None
    names = [_scalar(route, key) or "?" for key in ("recipient", "purpose", "source")]
    rest = path[match.end() :]
    return f"route {names[0]}/{names[1]} from {names[2]}" + (f", {rest}" if rest else "")
