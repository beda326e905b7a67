#!/usr/bin/env bash
# Regenerates the golden dry-run: the sample input and the expected output files.
# Run after a deliberate change of the policy, the engine or the sample generator, then review
# `git diff tests/golden` before committing: every changed line is a changed decision.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bin=.venv/bin
"$bin/purposegate" sample --seed 3 --customers 12 --events 160 --invalid 4 --out tests/golden/input.jsonl
rm -rf tests/golden/expected
"$bin/purposegate" dry-run --input tests/golden/input.jsonl --out tests/golden/expected \
  --keys tests/golden/keys.json --policy policy/policy.yaml
# The disclosure reports of a few subjects of that audit (tests/unit/cli/test_report_golden.py),
# issued at a fixed time so that the issue date and the reference do not change.
audit=tests/golden/expected/purposegate.audit.jsonl
issued=(--issued 2026-12-01T09:00:00Z)
for subject in C000001 C000007; do
  for format in text json; do
    "$bin/purposegate" report "$subject" --format "$format" "${issued[@]}" \
      --audit "$audit" > "tests/golden/report/$subject.$format"
  done
done
"$bin/purposegate" report C000007 --format html "${issued[@]}" \
  --audit "$audit" > tests/golden/report/C000007.html
"$bin/purposegate" report C000001 --from 2023-01-01T06:00:00Z --to 2023-01-01T12:00:00Z \
  "${issued[@]}" --audit "$audit" > tests/golden/report/C000001-window.text
# a subject one of whose inputs went to the DLQ
"$bin/purposegate" report C000008 "${issued[@]}" --audit "$audit" > tests/golden/report/C000008.text
for format in text html; do
  "$bin/purposegate" report C000001 --lang ja --format "$format" "${issued[@]}" \
    --audit "$audit" > "tests/golden/report/C000001.ja.$format"
done
# ropa, affected and policies (tests/unit/cli/test_office_golden.py).
PURPOSEGATE_REGENERATE=1 "$bin/pytest" -q tests/unit/cli/test_office_golden.py
# The decision diffs of policy variants on the golden input (tests/unit/cli/test_diff_policy_golden.py).
PURPOSEGATE_REGENERATE=1 "$bin/pytest" -q tests/unit/cli/test_diff_policy_golden.py
