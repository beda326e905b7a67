"""A route's projection compiled at policy load: one generated function that builds the output
value in a single dict display, so that per event no loop walks the route's fields.

The function is what ``policy.engine`` did step by step, field for field: the envelope
(``event_id`` and ``event_time`` as they came, or on a pseudonymised route keyed and coarsened),
then each field's output key in the route's order, its value as it came (``record.get``: an
absent field is null) or through its transform (``policy.operators``, ``policy.shapes``). A
dict display evaluates left to right and, for a key given twice, keeps the first position and
the last value, as assignment in that order does. The generated source names no policy text:
every field name, output key and transform is a bound argument (``_f0``, ``_k0``, ``_t0``).

>>> steps = (("total_jpy", "total_jpy", None), ("country", "country_band", str.lower))
>>> project = projection(steps, "marketing", "affectus", None, None)
>>> value = project({"event_id": "e1", "event_time": "t", "country": "JP"}, "orders", "v1")
>>> list(value.items())[2:]  # doctest: +NORMALIZE_WHITESPACE
[('source_topic', 'orders'), ('purpose', 'marketing'), ('recipient', 'affectus'),
 ('policy_version', 'v1'), ('total_jpy', None), ('country_band', 'jp')]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from policy.operators import Transform

#: A route's output value of a record: ``project(record, source_topic, policy_version)``.
Projection = Callable[[Mapping[str, Any], str, str], dict[str, Any]]
Step = tuple[str, str, Transform | None]  # source field, output key, None: as it is


def projection(
    steps: tuple[Step, ...],
    purpose: str,
    recipient: str,
    event_ids: Callable[[str], str] | None,
    coarsen: Callable[[datetime], datetime] | None,
) -> Projection:
    """The route's projection (``event_ids`` and ``coarsen``: a pseudonymised route's keyed
    event id and coarse event time; None: both as they came)."""
    bound: dict[str, Any] = {"_purpose": purpose, "_recipient": recipient}
    if event_ids is None:
        envelope = ['"event_id": record["event_id"]', '"event_time": record["event_time"]']
    else:
        bound["_event_ids"], bound["_coarsen"] = event_ids, coarsen
        envelope = [
            '"event_id": _event_ids(record["event_id"])',
            '"event_time": _coarsen(record["event_time"])',
        ]
    envelope += [
        '"source_topic": source_topic',
        '"purpose": _purpose',
        '"recipient": _recipient',
        '"policy_version": version',
    ]
    fields: list[str] = []
    for index, (field, output_key, transform) in enumerate(steps):
        bound[f"_f{index}"], bound[f"_k{index}"] = field, output_key
        if transform is None:
            fields.append(f"_k{index}: get(_f{index})")
        else:
            bound[f"_t{index}"] = transform
            fields.append(f"_k{index}: _t{index}(get(_f{index}))")
    entries = ",\n            ".join(envelope + fields)
    source = (
        f"def _bind({', '.join(bound)}):\n"
        "    def project(record, source_topic, version):\n"
        "        get = record.get\n"
        f"        return {{\n            {entries},\n        }}\n"
        "    return project\n"
    )
    namespace: dict[str, Any] = {}
    # the source is built above from fixed text and argument names only, never policy text
    exec(compile(source, "<policy.route_projection>", "exec"), namespace)  # noqa: S102
    project: Projection = namespace["_bind"](**bound)
    return project
