"""The forms of ``purposegate affected``: text for the office, CSV of the subjects for its
mailing, JSON for systems. Pure. Only the CSV names subjects (the office's mailing list);
text and JSON give counts.

>>> from datetime import UTC, datetime
>>> from office.affected import Affected, Window
>>> at = datetime(2026, 1, 1, tzinfo=UTC)
>>> render_csv(Affected("r", Window(at, at)), "x")
'customer_id\\n'
"""

from __future__ import annotations

import csv
import io
import json
from typing import Final

from office.affected import Affected
from wire.jsonvalues import format_timestamp

TIME_BASIS: Final = "the time each record was sent (the audit record's timestamp)"


def render_text(found: Affected, where: str) -> str:
    window = found.window
    lines = [
        f"affected: {found.recipient}, records sent from {format_timestamp(window.start)} to "
        f"{format_timestamp(window.end)}",
        f"window on: {TIME_BASIS}",
        f"read from: {where}",
        f"{len(found.subjects)} subject(s), {found.records} record(s) ({found.read} audit "
        f"record(s) in the window name {found.recipient})",
    ]
    for purpose, tally in sorted(found.per_purpose.items()):
        lines.append(
            f"  {purpose}: {len(tally.subjects)} subject(s), {len(tally.events)} record(s); "
            f"items: {', '.join(sorted(tally.items)) or 'none beyond the envelope'}"
        )
    if not found.per_purpose:
        lines.append(f"  nothing was sent to {found.recipient} in the window")
    return "\n".join(lines) + "\n"


def render_csv(found: Affected, where: str) -> str:
    """The subjects: ``customer_id``, and ``subject_id`` (the recipient's id) when the audit
    records it; one line per pair, sorted."""
    with_ids = any(found.subjects.values())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["customer_id", "subject_id"] if with_ids else ["customer_id"])
    for customer, ids in sorted(found.subjects.items()):
        if not with_ids:
            writer.writerow([customer])
            continue
        for subject_id in sorted(ids) or [""]:  # a record from before the audit named ids
            writer.writerow([customer, subject_id])
    return out.getvalue()


def render_json(found: Affected, where: str) -> str:
    document = {
        "recipient": found.recipient,
        "from": format_timestamp(found.window.start),
        "to": format_timestamp(found.window.end),
        "window_on": TIME_BASIS,
        "source": where,
        "audit_records_in_window": found.read,
        "subjects": len(found.subjects),
        "records": found.records,
        "items": sorted(found.items),
        "purposes": {
            purpose: {
                "subjects": len(t.subjects),
                "records": len(t.events),
                "items": sorted(t.items),
            }
            for purpose, t in sorted(found.per_purpose.items())
        },
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


FORMATS: Final = {"text": render_text, "csv": render_csv, "json": render_json}
