"""Personal data typed into free-form values through ``purposegate dry-run`` (docs/contract.md §3;
Hypothesis): whatever answers (keys and values), gender or region a monitor or questionnaire
entry carries, with e-mail addresses, phone, card and My Numbers (ASCII and full width) and the
subject's own name, e-mail, phone and postal code, none of them reaches any shared topic, and
the audit names each find by path and detector, never by value."""

from __future__ import annotations

import json
import tempfile
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli.dry_run import dry_run
from tests.adversarial_checks import read_dir
from tests.unit.policy.samples import compiled
from wire.jsonl import TopicFiles, dumps

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
SUBJECT = {"name": "Kato Minato", "email": "c000042@example.jp", "phone": "090-0000-0042",
           "postal_code": "460-0008"}  # fmt: skip
#: (what is typed, what must never appear in a shared record once squashed)
SECRETS = [
    ("hanako.other@example.com", "hanako.other@example.com"),  # someone else's e-mail
    ("c000042@example.jp", "c000042@example.jp"),  # the subject's own e-mail
    ("090-1234-5678", "09012345678"),  # a JP mobile
    ("+44 20 7946 0958", "442079460958"),  # an international number
    ("4111 1111 1111 1111", "4111111111111111"),  # a card
    ("1234 5678 9018", "123456789018"),  # a My Number
    ("Kato Minato", "katominato"),  # the subject's own name
    ("090 0000 0042", "09000000042"),  # the subject's own phone
    ("〒460-0008", "4600008"),  # the subject's own postal code
]

secret = st.sampled_from(range(len(SECRETS)))
wide = st.booleans()


def typed(index: int, full_width: bool, around: str) -> str:
    text = SECRETS[index][0]
    if full_width:  # ASCII to its full-width form: NFKC must fold it back
        text = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
    return f"{around} {text} {around}".strip()


def squashed(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in folded if c not in " -\u30fc")


@st.composite
def entries(draw: st.DrawFn) -> list[dict[str, Any]]:
    found = []
    for number in range(draw(st.integers(1, 4))):
        answers = {}
        for _ in range(draw(st.integers(1, 3))):
            key = typed(draw(secret), draw(wide), "") if draw(st.booleans()) else "q1"
            answers[key] = typed(
                draw(secret), draw(wide), draw(st.sampled_from(["", "is", "私は"]))
            )
        found.append({
            "event_id": f"ev-{number}", "event_time": T0 + timedelta(minutes=number),
            "customer_id": "C000042", "campaign_id": "CP-01",
            "kind": draw(st.sampled_from(["monitor", "questionnaire"])), **SUBJECT,
            "country": "JP", "prefecture": typed(draw(secret), draw(wide), "Aichi"),
            "address": "1-2-3 Sakae", "birth_year": 1990, "gender": typed(draw(secret), False, ""),
            "answers": answers, "product_sku": "SKU-LOT-01", "rating": 4, "comment": None,
            "won_prize": None,
        })  # fmt: skip
    return found


def consents() -> list[dict[str, Any]]:
    return [
        {"event_id": f"con-{scope}", "event_time": T0 - timedelta(days=1), "customer_id": "C000042",
         "scope": scope, "granted": True, "source": "web_form"}
        for scope in ("monitoring_research", "marketing")
    ]  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries())
def test_when_free_form_values_hold_personal_data_then_no_shared_record_carries_it(
    values: list[dict[str, Any]],
) -> None:
    lines = [dumps({"topic": "consents", "value": v}) for v in consents()]
    lines += [dumps({"topic": "campaign-entries", "value": v}) for v in values]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        with TopicFiles(out) as files:
            dry_run(
                enumerate((x.encode() for x in lines), 1),
                compiled(),
                files,
                lambda: T0 + timedelta(days=1),
            )
        records = read_dir(out)
    shared = [r for topic, rs in records.items() if topic.startswith("shared.") for r in rs]
    assert any("septem-souken" in json.dumps(r) for r in shared)
    for record in shared:
        text = squashed(json.dumps(record["value"], ensure_ascii=False))
        leaked = [s for _, s in SECRETS if s in text and s not in _allowed(record)]
        assert leaked == [], record["topic"]
    for audit in records["purposegate.audit"]:
        text = squashed(json.dumps(audit["value"], ensure_ascii=False))
        for decision in audit["value"]["decisions"]:
            for hit in decision["content_redactions"]:
                assert set(hit) == {"path", "detector"}
        assert "hanako" not in text and "4111111111111111" not in text


def _allowed(record: dict[str, Any]) -> set[str]:
    """A named marketing route carries the subject's own name, phone and postal code as items."""
    if record["topic"].startswith("shared.septem-souken"):
        return set()
    return {"katominato", "09000000042", "4600008"}
