"""A case file checked against the policy before any case runs (``test-policy``): every route a
case names exists (``recipient/purpose``, as routes are named), every reason is one the engine
gives, every withdrawal-notice topic is a shared topic of the policy. A typo is a fault with the
nearest right name, never a case that "fails" because a route "was not considered".

Also which routes the cases exercise: a route is exercised when some case's event is considered
for it (forwarded or blocked), as ``opa test --coverage`` reports the rules a test reached.
Pure: no I/O.

>>> nearest("no_consnet", ["no_consent", "permitted"])
' (did you mean no_consent?)'
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from policy.cases import CaseFile
from policy.decision import BLOCKING_REASONS, Decision
from policy.models import Policy

REASONS: tuple[str, ...] = ("permitted", *BLOCKING_REASONS)


def case_faults(cases: CaseFile, policy: Policy) -> list[str]:
    """Every name a case uses that the policy does not have, one line each."""
    routes = sorted({f"{r.recipient}/{r.purpose}" for r in policy.routes})
    topics = policy.shared_topics()
    faults: list[str] = []
    for case in cases.cases:
        for route, want in case.expect.items():
            if route not in routes:
                faults.append(f"case {case.name}: unknown route {route}{nearest(route, routes)}")
            if want.reason is not None and want.reason not in REASONS:
                faults.append(
                    f"case {case.name}: {route}: unknown reason {want.reason}"
                    f"{nearest(want.reason, REASONS)}"
                )
        faults += [
            f"case {case.name}: tombstones: unknown shared topic {topic}{nearest(topic, topics)}"
            for topic in case.tombstones or ()
            if topic not in topics
        ]
    return faults


def nearest(name: str, known: Sequence[str]) -> str:
    """`` (did you mean X?)`` with the closest known name, or ``""`` when none is close."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def considered(decision: Decision, source: str) -> set[str]:
    """The routes (``recipient/purpose/source``) a decision considered."""
    return {f"{d.recipient}/{d.purpose}/{source}" for d in decision.decisions}


def not_exercised(policy: Policy, exercised: Iterable[str]) -> list[str]:
    """The policy's routes no case reached, by id, in policy order."""
    reached = set(exercised)
    return [route.id for route in policy.routes if route.id not in reached]
