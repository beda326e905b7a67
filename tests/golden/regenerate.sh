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
# The disclosure reports of a few subjects of that audit (tests/unit/cli/test_report_golden.py).
for subject in C000001 C000007 C999999; do
  for format in text json; do
    "$bin/purposegate" report "$subject" --format "$format" \
      --audit tests/golden/expected/purposegate.audit.jsonl > "tests/golden/report/$subject.$format"
  done
done
"$bin/purposegate" report C000007 --format html \
  --audit tests/golden/expected/purposegate.audit.jsonl > tests/golden/report/C000007.html
"$bin/purposegate" report C000001 --from 2023-01-01T06:00:00Z --to 2023-01-01T12:00:00Z \
  --audit tests/golden/expected/purposegate.audit.jsonl > tests/golden/report/C000001-window.text
# The decision diffs of policy variants on the golden input (tests/unit/cli/test_diff_policy_golden.py).
PURPOSEGATE_REGENERATE=1 "$bin/pytest" -q tests/unit/cli/test_diff_policy_golden.py
