"""The table of ``test_bad_arguments``: every command crossed with every kind of bad argument
it can get, and the one line each must print (kept apart: the table alone is most of 300 lines)."""

from __future__ import annotations

from pathlib import Path

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
NOBODY = 65_534

# (argv with {placeholders}, settings in the environment, what the one line must say)
Row = tuple[list[str], dict[str, str], str]

DRY = ["dry-run", "--out", "{out}", "--keys", "{keys}"]
EXPLAIN = ["explain", "ord-0000002"]
REPORT = ["report", "C000010"]
DIFF = ["diff-policy", "{policy}", "{policy}"]
AFFECTED = ["affected", "--recipient", "septem-cargo", "--from", "2023-01-01", "--to", "2023-01-02"]

DENIED = "{unreadable}: permission denied"

ROWS: dict[str, Row] = {
    # worker: a bad port; the policy and key files named by settings
    "worker-port-zero": (["worker", "--web-port", "0"], {}, "at least 1, got '0'"),
    "worker-port-negative": (["worker", "--web-port", "-1"], {}, "got '-1'"),
    "worker-port-text": (["worker", "--web-port", "abc"], {}, "got 'abc'"),
    "worker-port-too-big": (["worker", "--web-port", "70000"], {}, "1..65535"),
    "worker-policy-missing": (["worker"], {"PURPOSEGATE_POLICY": "{missing}"}, "cannot read"),
    "worker-policy-dir": (["worker"], {"PURPOSEGATE_POLICY": "{dir}"}, "is a directory"),
    "worker-policy-unreadable": (
        ["worker"], {"PURPOSEGATE_POLICY": "{unreadable}"}, DENIED
    ),
    "worker-policy-empty": (["worker"], {"PURPOSEGATE_POLICY": "{empty}"}, "mapping of sections"),
    "worker-policy-wrong-kind": (["worker"], {"PURPOSEGATE_POLICY": "{input}"}, "not valid YAML"),
    # topics: the policy named by settings (it needs no key file: issue 27)
    "topics-policy-missing": (["topics"], {"PURPOSEGATE_POLICY": "{missing}"}, "cannot read"),
    "topics-policy-binary": (["topics"], {"PURPOSEGATE_POLICY": "{binary}"}, "not valid YAML"),
    "topics-partitions-zero": (["topics"], {"PURPOSEGATE_PARTITIONS": "0"}, "bad setting"),
    # keys --init: where the new key file goes
    "keys-init-dir": (["keys", "--init", "{dir}"], {}, "is a directory; give a file name"),
    "keys-init-existing": (["keys", "--init", "{empty}"], {}, "refusing to overwrite"),
    "keys-init-under-file": (["keys", "--init", "{under_file}"], {}, "is a file, not a dir"),
    # produce FILE
    "produce-missing": (["produce", "{missing}"], {}, "no such file"),
    "produce-dir": (["produce", "{dir}"], {}, "is a directory, not a file"),
    "produce-unreadable": (["produce", "{unreadable}"], {}, DENIED),
    "produce-empty": (["produce", "{empty}"], {}, "is empty"),
    "produce-blank-lines": (["produce", "{blank}"], {}, "is empty"),
    "produce-wrong-kind": (["produce", "{audit}"], {}, "holds purposegate.audit records"),
    "produce-binary": (["produce", "{binary}"], {}, "not a text file"),
    # dump TOPIC --max N
    "dump-max-zero": (["dump", "orders", "--max", "0"], {}, "at least 1, got '0'"),
    "dump-max-negative": (["dump", "orders", "--max", "-3"], {}, "got '-3'"),
    "dump-max-text": (["dump", "orders", "--max", "ten"], {}, "got 'ten'"),
    "dump-no-topic": (["dump"], {}, "required: TOPIC"),
    "dump-blank-topic": (["dump", " "], {}, "expected a non-empty value"),
    # catalog --out FILE
    "catalog-out-dir": (["catalog", "--out", "{dir}"], {}, "is a directory; give a file name"),
    "catalog-out-under-file": (["catalog", "--out", "{under_file}"], {}, "is a file, not a dir"),
    # check-policy --policy FILE --schemas DIR
    "check-missing": (["check-policy", "--policy", "{missing}"], {}, "no such file"),
    "check-dir": (["check-policy", "--policy", "{dir}"], {}, "is a directory, not a file"),
    "check-unreadable": (["check-policy", "--policy", "{unreadable}"], {}, DENIED),
    "check-empty": (["check-policy", "--policy", "{empty}"], {}, "is empty"),
    "check-wrong-kind": (["check-policy", "--policy", "{input}"], {}, "not a policy file"),
    "check-list-not-mapping": (["check-policy", "--policy", "{yaml_list}"], {}, "YAML mapping"),
    "check-schemas-missing": (["check-policy", "--schemas", "{missing}"], {}, "no such file"),
    "check-schemas-unreadable": (
        ["check-policy", "--schemas", "{unreadable_dir}"], {}, "{unreadable_dir}: permission"
    ),
    "check-schemas-file": (["check-policy", "--schemas", "{input}"], {}, "not a directory"),
    # schemas --check | --release (--schemas, --released: the tests' own directories)
    "schemas-check-and-release": (["schemas", "--check", "--release"], {}, "not allowed with"),
    "schemas-missing": (["schemas", "--schemas", "{missing}"], {}, "no such file"),
    "schemas-released-file": (["schemas", "--released", "{input}"], {}, "not a directory"),
    # dry-run --input FILE --out DIR --policy FILE --keys FILE
    "dry-input-missing": ([*DRY, "--input", "{missing}"], {}, "no such file"),
    "dry-input-dir": ([*DRY, "--input", "{dir}"], {}, "is a directory, not a file"),
    "dry-input-unreadable": (
        ["dry-run", "--input", "{unreadable}", "--out", "{out}"], {}, DENIED
    ),
    "dry-input-empty": ([*DRY, "--input", "{empty}"], {}, "is empty"),
    "dry-input-wrong-kind": ([*DRY, "--input", "{audit}"], {}, "holds purposegate.audit"),
    "dry-input-binary": ([*DRY, "--input", "{binary}"], {}, "not a text file"),
    "dry-out-is-file": (
        ["dry-run", "--input", "{input}", "--out", "{input}"], {}, "is a file, not a directory"
    ),
    "dry-out-foreign-files": (
        ["dry-run", "--input", "{input}", "--out", "{foreign_dir}"], {}, "did not write"
    ),
    "dry-policy-missing": ([*DRY, "--input", "{input}", "--policy", "{missing}"], {}, "no such"),
    "dry-policy-empty": ([*DRY, "--input", "{input}", "--policy", "{empty}"], {}, "is empty"),
    "dry-policy-wrong-kind": (
        [*DRY, "--input", "{input}", "--policy", "{input}"], {}, "not a policy file"
    ),
    "dry-keys-missing": (
        ["dry-run", "--input", "{input}", "--out", "{out}", "--keys", "{missing}"], {}, "no such"
    ),
    "dry-keys-dir": (
        ["dry-run", "--input", "{input}", "--out", "{out}", "--keys", "{dir}"], {}, "directory"
    ),
    "dry-keys-unreadable": (["dry-run", "--keys", "{unreadable}"], {}, DENIED),
    "dry-policy-unreadable": (["dry-run", "--policy", "{unreadable}"], {}, DENIED),
    "dry-keys-wrong-kind": (
        ["dry-run", "--input", "{input}", "--out", "{out}", "--keys", "{input}"], {}, "JSON object"
    ),
    # explain EVENT_ID --audit FILE --policy FILE --policy-history PATH
    "explain-audit-missing": ([*EXPLAIN, "--audit", "{missing}"], {}, "no such file"),
    "explain-audit-dir": ([*EXPLAIN, "--audit", "{dir}"], {}, "is a directory, not a file"),
    "explain-audit-unreadable": ([*EXPLAIN, "--audit", "{unreadable}"], {}, DENIED),
    "explain-audit-empty": ([*EXPLAIN, "--audit", "{empty}"], {}, "is empty"),
    "explain-audit-is-input": ([*EXPLAIN, "--audit", "{input}"], {}, "not an audit file"),
    "explain-audit-binary": ([*EXPLAIN, "--audit", "{binary}"], {}, "not a text file"),
    "explain-audit-input-later": ([*EXPLAIN, "--audit", "{audit_then_input}"], {}, "line 3 is"),
    "explain-blank-event": (["explain", "", "--audit", "{audit}"], {}, "non-empty value"),
    "explain-policy-empty": ([*EXPLAIN, "--audit", "{audit}", "--policy", "{empty}"], {}, "empty"),
    "explain-history-missing": (
        [*EXPLAIN, "--audit", "{audit}", "--policy-history", "{missing}"], {}, "no such file"
    ),
    "explain-history-unreadable": ([*EXPLAIN, "--policy-history", "{unreadable}"], {}, DENIED),
    "explain-history-wrong-kind": (
        [*EXPLAIN, "--audit", "{audit}", "--policy-history", "{audit}"], {}, "not a policy hist"
    ),
    # report SUBJECT_ID --from T --to T --format F --audit FILE
    "report-audit-missing": ([*REPORT, "--audit", "{missing}"], {}, "no such file"),
    "report-audit-dir": ([*REPORT, "--audit", "{dir}"], {}, "is a directory, not a file"),
    "report-audit-unreadable": ([*REPORT, "--audit", "{unreadable}"], {}, DENIED),
    "report-audit-empty": ([*REPORT, "--audit", "{empty}"], {}, "is empty"),
    "report-audit-is-input": ([*REPORT, "--audit", "{input}"], {}, "not an audit file"),
    "report-audit-binary": ([*REPORT, "--audit", "{binary}"], {}, "not a text file"),
    # the subject's lines further down are input lines: refused at the first of them
    "report-audit-input-later": ([*REPORT, "--audit", "{audit_then_input}"], {}, "line 3 is"),
    "report-blank-subject": (["report", " ", "--audit", "{audit}"], {}, "non-empty value"),
    "report-from-not-a-time": ([*REPORT, "--from", "yesterday"], {}, "got 'yesterday'"),
    "report-to-not-a-date": ([*REPORT, "--to", "2026-13-40"], {}, "got '2026-13-40'"),
    "report-from-after-to": (
        [*REPORT, "--audit", "{audit}", "--from", "2026-02-01", "--to", "2026-01-01"], {},
        "--from must be before --to",
    ),
    "report-format-unknown": ([*REPORT, "--format", "pdf"], {}, "invalid choice: 'pdf'"),
    "report-policy-empty": ([*REPORT, "--audit", "{audit}", "--policy", "{empty}"], {}, "empty"),
    "report-lang-unknown": ([*REPORT, "--lang", "fr"], {}, "invalid choice: 'fr'"),
    "report-issued-not-a-time": ([*REPORT, "--issued", "today"], {}, "got 'today'"),
    # an id no audit record names: refused, never a reassuring empty report
    "report-unknown-subject": (
        ["report", "C999999", "--audit", "{audit}"], {}, "no audit record names this id; check it"
    ),
    # ropa --format F --policy FILE --out FILE
    "ropa-format-unknown": (["ropa", "--format", "pdf"], {}, "invalid choice: 'pdf'"),
    "ropa-policy-missing": (["ropa", "--policy", "{missing}"], {}, "no such file"),
    "ropa-policy-wrong-kind": (["ropa", "--policy", "{input}"], {}, "not a policy file"),
    "ropa-out-dir": (["ropa", "--out", "{dir}"], {}, "is a directory; give a file name"),
    # affected --recipient R --from T --to T --audit FILE --format F
    "affected-no-recipient": (["affected", "--from", "2023-01-01", "--to", "2023-01-02"], {},
                              "required: --recipient"),
    "affected-no-window": (["affected", "--recipient", "septem-cargo"], {}, "required: --from"),
    "affected-from-after-to": (
        ["affected", "--recipient", "r", "--from", "2023-02-01", "--to", "2023-01-01",
         "--audit", "{audit}"], {}, "--from must be before --to",
    ),
    "affected-from-not-a-time": (
        ["affected", "--recipient", "r", "--from", "monday", "--to", "2023-01-01"], {},
        "got 'monday'",
    ),
    "affected-audit-is-input": ([*AFFECTED, "--audit", "{input}"], {}, "not an audit file"),
    "affected-audit-missing": ([*AFFECTED, "--audit", "{missing}"], {}, "no such file"),
    "affected-format-unknown": ([*AFFECTED, "--format", "xlsx"], {}, "invalid choice: 'xlsx'"),
    # policies --audit FILE --policy-history PATH --format F
    "policies-audit-missing": (["policies", "--audit", "{missing}"], {}, "no such file"),
    "policies-audit-is-input": (["policies", "--audit", "{input}"], {}, "not an audit file"),
    "policies-history-wrong-kind": (
        ["policies", "--audit", "{audit}", "--policy-history", "{audit}"], {}, "not a policy hist"
    ),
    "policies-format-unknown": (["policies", "--format", "csv"], {}, "invalid choice: 'csv'"),
    # erasures: a blank subject, an unknown format, the policy named by settings
    "erasures-blank-subject": (["erasures", "--subject", " "], {}, "non-empty value"),
    "erasures-format-unknown": (["erasures", "--format", "pdf"], {}, "invalid choice: 'pdf'"),
    "erasures-policy-missing": (["erasures"], {"PURPOSEGATE_POLICY": "{missing}"}, "cannot read"),
    # diff-policy OLD NEW --input FILE --format F
    "diff-old-missing": (["diff-policy", "{missing}", "{policy}", "--input", "{input}"], {},
                         "no such file"),
    "diff-new-dir": (["diff-policy", "{policy}", "{dir}", "--input", "{input}"], {},
                     "is a directory, not a file"),
    "diff-new-list": (["diff-policy", "{policy}", "{yaml_list}", "--input", "{input}"], {},
                      "not a YAML mapping"),
    "diff-new-not-a-policy": (["diff-policy", "{policy}", "{yaml_mapping}", "--input", "{input}"],
                              {}, "policy"),
    "diff-no-input": (DIFF, {}, "required: --input"),
    "diff-input-missing": ([*DIFF, "--input", "{missing}"], {}, "no such file"),
    "diff-input-is-audit": ([*DIFF, "--input", "{audit}"], {}, "holds purposegate.audit records"),
    "diff-input-unreadable": ([*DIFF, "--input", "{unreadable}"], {}, DENIED),
    "diff-format-unknown": ([*DIFF, "--input", "{input}", "--format", "csv"], {}, "'csv'"),
    # linkability --input FILE --policy P --format F
    "linkability-no-input": (["linkability"], {}, "required: --input"),
    "linkability-input-missing": (["linkability", "--input", "{missing}"], {}, "no such file"),
    "linkability-input-is-audit": (
        ["linkability", "--input", "{audit}"], {}, "holds purposegate.audit records"
    ),
    "linkability-policy-empty": (
        ["linkability", "--input", "{input}", "--policy", "{empty}"], {}, "empty"
    ),
    "linkability-format-unknown": (
        ["linkability", "--input", "{input}", "--format", "csv"], {}, "invalid choice: 'csv'"
    ),
    # sample --seed --customers --events --invalid --out
    "sample-customers-negative": (["sample", "--customers", "-1"], {}, "got '-1'"),
    "sample-customers-zero": (["sample", "--customers", "0"], {}, "at least 1, got '0'"),
    "sample-customers-text": (["sample", "--customers", "many"], {}, "got 'many'"),
    "sample-events-zero": (["sample", "--events", "0"], {}, "at least 1, got '0'"),
    "sample-invalid-negative": (["sample", "--invalid", "-2"], {}, "at least 0, got '-2'"),
    "sample-seed-fraction": (["sample", "--seed", "1.5"], {}, "got '1.5'"),
    "sample-out-dir": (["sample", "--out", "{dir}"], {}, "is a directory; give a file name"),
    "sample-out-under-file": (["sample", "--out", "{under_file}"], {}, "is a file, not a dir"),
    # test-policy CASES --policy FILE
    "cases-missing": (["test-policy", "{missing}"], {}, "no such file"),
    "cases-dir": (["test-policy", "{dir}"], {}, "is a directory, not a file"),
    "cases-unreadable": (["test-policy", "{unreadable}"], {}, DENIED),
    "cases-empty": (["test-policy", "{empty}"], {}, "is empty"),
    "cases-wrong-kind": (["test-policy", "{input}"], {}, "not a case file"),
    "cases-list": (["test-policy", "{yaml_list}"], {}, "no top-level 'cases:'"),
    "cases-no-file": (["test-policy"], {}, "required: CASES.yaml"),
    "cases-policy-wrong-kind": (
        ["test-policy", "{cases}", "--policy", "{input}"], {}, "not a policy file"
    ),
    # no command, or one that does not exist
    "no-command": ([], {}, "required: COMMAND"),
    "unknown-command": (["delete-everything"], {}, "invalid choice"),
}  # fmt: skip

# acls (issue 26), kept apart from the rows above: --format, the principal settings (JSON in
# the environment: braces doubled for str.format) and the policy they are checked against
ACLS_ROWS: dict[str, Row] = {
    "acls-format-unknown": (["acls", "--format", "yaml"], {}, "invalid choice: 'yaml'"),
    "acls-two-actions": (["acls", "--plan", "--check"], {}, "not allowed with argument --plan"),
    "acls-principals-not-json": (
        ["acls"], {"PURPOSEGATE_RECIPIENT_PRINCIPALS": "{{cargo"}, "not JSON"
    ),
    "acls-principals-a-list": (
        ["acls"], {"PURPOSEGATE_RECIPIENT_PRINCIPALS": '["User:cargo"]'}, "valid dictionary"
    ),
    # User:* is everyone: one company's topics to all
    "acls-principal-wildcard": (
        ["acls"], {"PURPOSEGATE_RECIPIENT_PRINCIPALS": '{{"septem-cargo": "User:*"}}'}, "no '*'"
    ),
    # a typo must not leave the company on its default principal unnoticed
    "acls-principal-unknown-recipient": (
        ["acls"], {"PURPOSEGATE_RECIPIENT_PRINCIPALS": '{{"septem-carg": "User:c"}}'},
        "'septem-carg': not a recipient of the policy",
    ),
    # two companies on one principal read each other's topics
    "acls-principal-shared": (
        ["acls"], {"PURPOSEGATE_RECIPIENT_PRINCIPALS": '{{"septem-cargo": "User:septem-souken"}}'},
        "principal of both recipient septem-cargo and recipient septem-souken",
    ),
    "acls-worker-principal-bare": (
        ["acls"], {"PURPOSEGATE_WORKER_PRINCIPAL": "purposegate"}, "not a principal like"
    ),
    "acls-office-is-worker": (
        ["acls"], {"PURPOSEGATE_OFFICE_PRINCIPAL": "User:purposegate"}, "each role needs its own"
    ),
    "acls-producers-not-a-list": (
        ["acls"], {"PURPOSEGATE_PRODUCER_PRINCIPALS": '"User:shop"'}, "valid tuple"
    ),
    "acls-switch-unknown": (["acls"], {"PURPOSEGATE_ACLS": "on"}, "'off' or 'apply'"),
    "acls-policy-missing": (["acls"], {"PURPOSEGATE_POLICY": "{missing}"}, "cannot read"),
    "topics-acls-principal-shared": (
        ["topics", "--create", "--acls"],
        {"PURPOSEGATE_OFFICE_PRINCIPAL": "User:enfinity",
         "PURPOSEGATE_PSEUDONYM_KEYS_FILE": "{keys}"},
        "principal of both",
    ),
}  # fmt: skip
ROWS.update(ACLS_ROWS)
