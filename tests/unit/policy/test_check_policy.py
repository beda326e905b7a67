"""``check-policy`` against the input schemas and unreadable files: every fault named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from policy.errors import ConfigError
from policy.input_schemas import default_schemas_dir
from policy.loader import DEFAULT_POLICY, check_policy, load_policy
from tests.unit.policy.policy_files import shipped, write


def test_when_schema_has_a_field_the_policy_does_not_classify_then_check_names_it(
    tmp_path: Path,
) -> None:
    schemas = tmp_path / "schemas"
    shutil.copytree(default_schemas_dir(), schemas)
    order_schema = json.loads((schemas / "OrderEvent.avsc").read_text())
    order_schema["fields"].append(
        {"name": "loyalty_tier", "type": ["null", "string"], "default": None}
    )
    (schemas / "OrderEvent.avsc").write_text(json.dumps(order_schema))
    faults = check_policy(None, schemas)
    assert faults == [
        "inputs.orders.fields: schema field 'loyalty_tier' of OrderEvent has no data category "
        f"(line {line_of(DEFAULT_POLICY, '    fields:', after='  orders:')}, column 5)",
        "free_form.strings.orders: string 'loyalty_tier' of OrderEvent has no kind "
        f"(line {line_of(DEFAULT_POLICY, '    orders:', after='  strings:')}, column 5)",
    ]


def test_when_policy_classifies_a_field_the_schema_lacks_then_check_names_it(
    tmp_path: Path,
) -> None:
    doc = shipped()
    doc["inputs"]["inquiries"]["fields"]["attachment"] = "free_text"
    path = write(tmp_path, doc)
    faults = check_policy(path)
    assert faults == [
        "inputs.inquiries.fields.attachment: not a field of InquiryEvent.avsc "
        f"(line {line_of(path, '      attachment:')}, column 7)"
    ]


def line_of(path: Path, start: str, after: str = "") -> int:
    """The number of the first line of ``path`` that starts with ``start`` (after ``after``)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    begin = next(i for i, line in enumerate(lines) if line.startswith(after)) if after else 0
    return next(i for i, line in enumerate(lines) if i >= begin and line.startswith(start)) + 1


UNREADABLE = [
    # not YAML
    ("purposes: [unclosed", "not valid YAML"),
    # YAML but not a mapping
    ("- just a list", "must be a mapping"),
    # a section missing
    ("purposes: []", "recipients: Field required"),
]


@pytest.mark.parametrize(("text", "fault"), UNREADABLE)
def test_when_policy_file_is_unreadable_then_check_says_why(
    tmp_path: Path, text: str, fault: str
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    assert any(fault in f for f in check_policy(path))


def test_when_policy_file_is_missing_then_load_fails_with_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_policy(tmp_path / "absent.yaml")


STRING_KIND_FAULTS: list[tuple[tuple[str, ...], Any, str]] = [
    # a string of the schema with no kind: nobody said whether a person typed it
    (
        ("free_form", "strings", "orders", "prefecture"),
        None,
        "free_form.strings.orders: string 'prefecture' of OrderEvent has no kind",
    ),
    # a kind for a string the schema does not have
    (
        ("free_form", "strings", "orders", "nickname"),
        "free_form",
        "free_form.strings.orders.nickname: not a string of OrderEvent.avsc",
    ),
    # free_form inside a record: the inspection reads top-level values only
    (
        ("free_form", "strings", "orders", "items[].product_name"),
        "free_form",
        "free_form.strings.orders.items[].product_name: free_form is inspected at the top level",
    ),
    # a detector the registry does not have
    (
        ("free_form", "detectors", "free_form"),
        ["email", "ner_person"],
        "free_form.detectors.free_form: unknown detector 'ner_person'",
    ),
    # the whole section missing
    (("free_form",), None, "free_form: missing: every input string needs a kind"),
]


@pytest.mark.parametrize(("path", "value", "fault"), STRING_KIND_FAULTS)
def test_when_a_string_kind_is_wrong_then_check_names_it(
    tmp_path: Path, path: tuple[str, ...], value: Any, fault: str
) -> None:
    doc = shipped()
    target = doc
    for part in path[:-1]:
        target = target[part]
    if value is None:
        target.pop(path[-1])
    else:
        target[path[-1]] = value
    faults = check_policy(write(tmp_path, doc))
    assert any(f.startswith(fault) for f in faults), faults


def test_when_a_route_keeps_a_free_text_string_then_check_names_it(tmp_path: Path) -> None:
    doc = shipped()
    doc["free_form"]["strings"]["orders"]["prefecture"] = "free_text"
    faults = check_policy(write(tmp_path, doc))
    assert any(
        fault.startswith(
            "route septem-cargo/fulfilment from orders, fields.prefecture: free text never goes to "
            "any group company (line "
        )
        for fault in faults
    ), faults
