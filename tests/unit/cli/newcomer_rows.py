"""Issue 27's rows of ``test_bad_arguments`` (a newcomer's first hour), kept apart from the main
table so that other branches add theirs without touching these: garbage in is refused by name,
check-policy and test-policy point at the entry, small conventions hold."""

from __future__ import annotations

from tests.unit.cli.bad_argument_rows import Row

#: Files the rows below name, by placeholder (written by ``test_bad_arguments``'s fixture).
FILES: dict[str, str] = {
    "csv": "event_id,topic,customer_id\nord-1,orders,C1\n",
    "json_array": '[{"topic": "orders", "value": {}},\n {"topic": "orders", "value": {}}]\n',
    "pretty_json": '{\n  "topic": "orders",\n  "value": {}\n}\n',
    "bad_yaml": "purposes:\n  - id: a\n    clause: [unclosed\n",
    "unknown_route_cases": (
        "cases:\n  - name: a\n    event: {topic: orders, at: '2026-03-01T10:00:00Z'}\n"
        "    expect:\n      septem-cargo/fulfillment: {outcome: forwarded}\n"
    ),
    "unknown_reason_cases": (
        "cases:\n  - name: a\n    event: {topic: orders, at: '2026-03-01T10:00:00Z'}\n"
        "    expect:\n      septem-cargo/fulfilment: {outcome: blocked, reason: no_consnet}\n"
    ),
}

DRY = ["dry-run", "--out", "{out}", "--keys", "{keys}"]
DIFF = ["diff-policy", "{policy}", "{policy}"]

ROWS: dict[str, Row] = {
    # 1. garbage in: a file with no input record names the format it looks like, exit 2
    "dry-input-csv": ([*DRY, "--input", "{csv}"], {}, "no input record: it looks like CSV"),
    "dry-input-json-array": ([*DRY, "--input", "{json_array}"], {}, "one JSON array"),
    "dry-input-pretty-json": ([*DRY, "--input", "{pretty_json}"], {}, "unfinished JSON object"),
    "diff-input-csv": ([*DIFF, "--input", "{csv}"], {}, "no input record: it looks like CSV"),
    "diff-input-json-array": ([*DIFF, "--input", "{json_array}"], {}, "one JSON array"),
    # 2. check-policy: a YAML error says where, as PyYAML found it; a missing policy named once
    "check-yaml-error-line": (
        ["check-policy", "--policy", "{bad_yaml}"], {}, "not valid YAML: line 4, column 1"
    ),
    "check-env-policy-missing": (
        ["check-policy"], {"PURPOSEGATE_POLICY": "{missing}"}, "cannot read policy {missing}: no"
    ),
    # 3. test-policy: a route or a reason that does not exist, with the nearest right name
    "cases-unknown-route": (
        ["test-policy", "{unknown_route_cases}"], {},
        "unknown route septem-cargo/fulfillment (did you mean septem-cargo/fulfilment?)",
    ),
    "cases-unknown-reason": (
        ["test-policy", "{unknown_reason_cases}"], {},
        "unknown reason no_consnet (did you mean no_consent?)",
    ),
    "cases-format-unknown": (["test-policy", "{cases}", "--format", "tap"], {}, "'tap'"),
    "cases-run-bad-pattern": (["test-policy", "{cases}", "--run", "("], {}, "not a pattern"),
    # 4. explain: --keys must be a key file
    "explain-keys-missing": (["explain", "x", "--keys", "{missing}"], {}, "no such file"),
    "explain-keys-wrong-kind": (
        ["explain", "x", "--audit", "{audit}", "--keys", "{input}"], {}, "JSON object"
    ),
    # 6. -b/--bootstrap: host:port, before or after the command
    "bootstrap-no-port": (["-b", "localhost", "topics"], {}, "expected host:port"),
    "bootstrap-blank": (["topics", "--bootstrap", " "], {}, "expected host:port"),
    "bootstrap-port-zero": (["dump", "orders", "-b", "h:0"], {}, "got 'h:0'"),
}  # fmt: skip
