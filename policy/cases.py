"""The privacy office's policy cases (``purposegate test-policy CASES.yaml``): the file's shape.

A case file holds ``templates`` (one full input record per topic, that cases start from) and
``cases``. A case names the clause it holds (``clause``), the subject's history (``state``:
consent changes, Section 10 requests or earlier events, each with its time), the event, and
what must happen to it: per route considered (``recipient/purpose``), forwarded or blocked,
the reason, and optionally the fields sent and withheld; for a consent change or request, the
shared topics that get a withdrawal notice. A case may name only the routes it is about; with
``name_every_route: true`` at the top of the file every route considered must be named, so that
a route that appears after a policy edit fails the case until the office has looked at it
(the office's own ``policy/cases.yaml`` says so). Routes no case reaches are listed either way.

Structure only; ``office.case_run`` runs a case through the one flow (``flow.path``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from policy.errors import ConfigError


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Consent(_Frozen):
    """A ConsentChange in the subject's history."""

    consent: str
    granted: bool
    at: AwareDatetime


class Request(_Frozen):
    """A Section 10 request in the subject's history."""

    request: Literal["suspend_use", "resume_use"]
    verified: bool = True
    at: AwareDatetime


class Event(_Frozen):
    """An input event: the topic's template with ``value``'s fields over it, at ``at``."""

    topic: str
    at: AwareDatetime
    value: dict[str, Any] = Field(default_factory=dict)


class RouteExpectation(_Frozen):
    """What must happen on one route; lists left out are not checked."""

    outcome: Literal["forwarded", "blocked"]
    reason: str | None = None
    fields_sent: tuple[str, ...] | None = None
    fields_withheld: tuple[str, ...] | None = None


class Case(_Frozen):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$")
    clause: str = ""
    customer: str = "case-subject"
    state: tuple[Consent | Request | Event, ...] = ()
    event: Event
    #: ``recipient/purpose`` -> expectation (every route considered, when the file says so).
    expect: dict[str, RouteExpectation] = Field(default_factory=dict)
    #: For a consent change or request: the shared topics that get a withdrawal notice.
    tombstones: tuple[str, ...] | None = None


class CaseFile(_Frozen):
    #: Every route a case's event is considered for must be named in its ``expect``.
    name_every_route: bool = False
    templates: dict[str, dict[str, Any]] = Field(default_factory=dict)
    cases: tuple[Case, ...] = Field(min_length=1)


def load_cases(path: Path) -> CaseFile:
    """The case file, or ``ConfigError`` in one line naming the first bad entry."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: not a case file (not valid YAML: {type(exc).__name__})"
        ) from None
    try:
        cases = CaseFile.model_validate(document)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "the file"
        raise ConfigError(f"{path}: {where}: {error['msg']}") from None
    names = [case.name for case in cases.cases]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise ConfigError(f"{path}: case name '{doubled[0]}' is used more than once")
    return cases


def latest(case: Case) -> datetime:
    """The latest time the case names (its clock: nothing in it lies in the future)."""
    return max([case.event.at, *(item.at for item in case.state)])
