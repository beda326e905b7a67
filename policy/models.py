"""The policy's typed, frozen shape: what ``policy.yaml`` may say, and nothing more.

Structure only (types, required keys, no unknown keys). Rules that cross entries (a route's
recipient exists, a field is a Section 6 shared item, ...) live in ``policy.rules``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from policy.topics import shared_topic

Scalar = str | int | bool
OperatorName = Literal["keep", "drop", "redact", "mask", "pseudonymise", "generalise"]
OnPseudonymised = Literal["forbidden", "allowed", "generalised"]
#: Why a purpose's records may be provided (the record of provision names it, docs/contract.md §4):
#: the subject's consent, the contract, the entrant's application, a legal duty, membership, or
#: (product development) pseudonymised records only.
BasisName = Literal[
    "consent", "contract", "application", "legal_duty", "membership", "pseudonymised"
]  # fmt: skip
#: The field every input record identifies its subject by; every route sends the recipient's
#: subject id of it instead (``customer_id: pseudonymise``, the default when a route omits it).
CUSTOMER_ID: Final = "customer_id"
#: What an input string holds (``free_form.strings``): ``id``, ``enum`` and ``code`` are made by
#: machines and never inspected; ``free_text`` never leaves; ``contact`` (the subject's own item)
#: and ``free_form`` (typed by a person) are inspected before they leave (``policy.inspection``).
StringKind = Literal["id", "enum", "code", "free_text", "contact", "free_form"]
InspectedKind = Literal["contact", "free_form"]
#: What a route does with a free-form value where a detector hit (``policy.free_form``).
OnHit = Literal["redact", "drop"]
#: How coarse a pseudonymised route's ``event_time`` goes out (docs/contract.md §3: at most
#: the day).
TimeGrain = Literal["day", "week", "month", "quarter", "year"]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


#: A period: a whole number of days, weeks or years (``730d``, ``8w``, ``2y``).
PERIOD_PATTERN: Final = r"^[1-9][0-9]{0,4}[dwy]$"
_PERIOD_DAYS: Final = {"d": 1, "w": 7, "y": 365}
#: A duration on the broker's clock (retention, segment roll, a read deadline): a period, or
#: hours, minutes or seconds (``36h``, ``90min``, ``20s``: test policies use short ones).
DURATION_PATTERN: Final = r"^[1-9][0-9]{0,6}(s|min|h|d|w|y)$"
_DURATION_S: Final = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}


def period(text: str) -> timedelta:
    """The length of a policy period. A year counts 365 days, so a consent never outlives the
    calendar years it was given for (in a leap year it ends a day early: fail closed).

    >>> period("2y")
    datetime.timedelta(days=730)
    """
    return timedelta(days=int(text[:-1]) * _PERIOD_DAYS[text[-1]])


def duration(text: str) -> timedelta:
    """The length of a policy duration (``DURATION_PATTERN``); a year counts 365 days.

    >>> duration("90min"), duration("2w")
    (datetime.timedelta(seconds=5400), datetime.timedelta(days=14))
    """
    digits = len(text) - len(text.lstrip("0123456789"))
    return timedelta(seconds=int(text[:digits]) * _DURATION_S[text[digits:]])


class Purpose(Frozen):
    """A Section 5 purpose of use. ``consent_valid_for``: how long a grant of the purpose's
    consent stays in force after its ``event_time`` (None: until withdrawn)."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    clause: str = Field(min_length=1)
    needs_consent: bool
    pseudonymised_only: bool = False
    consent_valid_for: str | None = Field(None, pattern=PERIOD_PATTERN)
    #: The basis a forwarded record of this purpose names in the audit (``policy.rules``:
    #: ``consent`` exactly when ``needs_consent``).
    basis: BasisName


class Category(Frozen):
    """A data category; every input field has exactly one."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str
    shared_item: bool
    section6_item: str | None = None
    on_pseudonymised: OnPseudonymised


class FieldTest(Frozen):
    """One test on one field's value; exactly one of the four is set."""

    eq: Scalar | None = None
    ne: Scalar | None = None
    in_: tuple[Scalar, ...] | None = Field(None, alias="in")
    not_in: tuple[Scalar, ...] | None = None

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _exactly_one(self) -> FieldTest:
        given = [v for v in (self.eq, self.ne, self.in_, self.not_in) if v is not None]
        if len(given) != 1:
            raise ValueError("a test needs exactly one of eq, ne, in, not_in")
        return self

    def values(self) -> tuple[Scalar, ...]:
        """Every literal value the test names."""
        for single in (self.eq, self.ne):
            if single is not None:
                return (single,)
        return self.in_ or self.not_in or ()


#: A condition: any alternative may match; inside one, every field test must hold.
Alternatives = tuple[dict[str, FieldTest], ...]


#: The upper bound of a range that moves with the processing clock (a birth year).
CURRENT_YEAR = "current_year"
#: A range's bounds; ``None`` as the upper bound: only the field's Avro type bounds it.
RangeBounds = tuple[int, int | Literal["current_year"] | None]
#: Value formats an input rule may require of a string field.
FormatName = Literal["iso_3166_1_alpha_2"]


class InputTopic(Frozen):
    """One input topic: its record (schema name), every key's category at every depth, and the
    input rules (allowed values, ranges, formats) that a record must keep.

    ``nested`` classifies the keys of records inside a field, by the path of that record:
    ``items[]`` (each entry of the array ``items``), ``x{}`` (each value of the map ``x``),
    ``x`` (the record ``x``). Rules name fields by path too (``items[].quantity``).
    """

    record: str
    fields: dict[str, str]
    nested: dict[str, dict[str, str]] = Field(default_factory=dict)
    enums: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    ranges: dict[str, RangeBounds] = Field(default_factory=dict)
    formats: dict[str, FormatName] = Field(default_factory=dict)

    def paths(self) -> dict[str, str]:
        """Every classified path (top-level fields and nested keys) and its category."""
        found = dict(self.fields)
        for record_path, keys in self.nested.items():
            found.update({f"{record_path}.{key}": category for key, category in keys.items()})
        return found

    def nested_under(self, field: str) -> dict[str, str]:
        """The classified nested keys inside one top-level field, by path, with categories."""
        return {
            path: category
            for path, category in self.paths().items()
            if path != field and top_field(path) == field
        }


def top_field(path: str) -> str:
    """The top-level field a path starts at: ``items`` of ``items[].sku``."""
    for index, char in enumerate(path):
        if char in "[{.":
            return path[:index]
    return path


class TaggingRule(Frozen):
    when: Alternatives | None = None
    purposes: tuple[str, ...] = Field(min_length=1)


class Recipient(Frozen):
    """A Section 6 group company."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    company: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    cross_border_basis: str | None = None


class FieldRule(Frozen):
    """The operator applied to one field on one route, with its parameters."""

    op: OperatorName
    keep_last: int | None = Field(None, ge=0, le=8)
    mask_char: str | None = Field(None, min_length=1, max_length=1)
    width: int | None = Field(None, ge=2, le=10_000_000)
    #: Why the field goes as it is where the policy requires a reason (the raw customer id).
    reason: str | None = Field(None, min_length=1)
    #: ``generalise`` of a string: these values go as they are, any other as ``other``.
    keep_values: tuple[str, ...] | None = Field(None, min_length=1)
    #: ``generalise`` by groups: group name -> the values it stands for; any other value goes
    #: as ``other``. With ``by``, of a field holding records: the groups of their ``by`` keys.
    groups: dict[str, tuple[str, ...]] | None = Field(None, min_length=1)
    #: ``generalise`` of a field holding records: the key inside them whose values are grouped.
    by: str | None = Field(None, min_length=1)
    #: ``keep`` of a field holding records: only these of their classified keys go.
    only: tuple[str, ...] | None = Field(None, min_length=1)

    def params(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump(exclude={"op", "reason"}).items() if v is not None}


class Route(Frozen):
    """Records of one source topic, for one purpose, to one recipient. ``retention``: how long
    the shared topic keeps its records (default 30 days); ``segment_roll``: how long a log
    segment of it stays open (``segment.ms``, default 1 day; with the retention and the
    broker's retention check it bounds how long a record can physically stay, ``policy.erasure``);
    ``consumer_group``: the Kafka consumer group the recipient reads the topic with (default
    ``<recipient>.<purpose>``: erasure read receipts and ACLs name it);
    ``erasure_read_within``: how long an erasure notice may stay unread before it is overdue
    (default 7 days). Every route of one topic declares the same (``policy.rules``)."""

    recipient: str
    purpose: str
    source: str
    pseudonymised: bool = False
    retention: str | None = Field(None, pattern=DURATION_PATTERN)
    segment_roll: str | None = Field(None, pattern=DURATION_PATTERN)
    erasure_read_within: str | None = Field(None, pattern=DURATION_PATTERN)
    consumer_group: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
    when: Alternatives | None = None
    fields: dict[str, FieldRule] = Field(min_length=1)
    #: A free-form value with a detector hit: the hit replaced in place, or the value dropped.
    on_content_hit: OnHit = "redact"
    #: Pseudonymised routes: the envelope's ``event_time`` truncated to this (default the day).
    time_grain: TimeGrain = "day"

    @field_validator("fields", mode="before")
    @classmethod
    def _operator_shorthand(cls, value: Any) -> Any:
        # `name: keep` is short for `name: {op: keep}`. A route that does not name the
        # customer id sends the recipient's subject id of it (docs/contract.md §3), first.
        if isinstance(value, dict):
            value = {k: {"op": v} if isinstance(v, str) else v for k, v in value.items()}
            if value and CUSTOMER_ID not in value:
                value = {CUSTOMER_ID: {"op": "pseudonymise"}, **value}
        return value

    @property
    def id(self) -> str:
        return f"{self.recipient}/{self.purpose}/{self.source}"


class Metadata(Frozen):
    """Who answers for the policy, as the notice names them: the controller and the desk a
    customer writes to (Section 11). Shown on documents the privacy office hands out."""

    controller: str = Field(min_length=1)
    contact: str = Field(min_length=1)
    address: str = Field(min_length=1)
    hours: str | None = None


class FreeForm(Frozen):
    """Every input string's kind by topic and path (``answers`` a map: its keys and values),
    and which detectors (``policy.inspection``) inspect each inspected kind."""

    detectors: dict[InspectedKind, tuple[str, ...]]
    strings: dict[str, dict[str, StringKind]]

    def inspected(self, topic: str) -> dict[str, InspectedKind]:
        """The topic's inspected paths and their kinds."""
        kinds = self.strings.get(topic, {})
        return {p: k for p, k in kinds.items() if k == "contact" or k == "free_form"}


class Policy(Frozen):
    """The whole policy file."""

    purposes: tuple[Purpose, ...] = Field(min_length=1)
    suspension_exempt: tuple[str, ...]
    categories: tuple[Category, ...] = Field(min_length=1)
    inputs: dict[str, InputTopic] = Field(min_length=1)
    tagging: dict[str, tuple[TaggingRule, ...]]
    recipients: tuple[Recipient, ...] = Field(min_length=1)
    routes: tuple[Route, ...]
    #: How long the consent table keeps a subject whose state no longer matters after its
    #: last change (``policy.forgetting``): the late-arrival horizon, in event time.
    forget_after: str = Field("30d", pattern=PERIOD_PATTERN)
    metadata: Metadata | None = None
    #: What every input string holds and how inspected kinds are inspected (docs/contract.md §3);
    #: None only in hand-made test policies: ``check-policy`` names it missing.
    free_form: FreeForm | None = None
    version: str = ""

    def purpose(self, purpose_id: str) -> Purpose:
        return next(p for p in self.purposes if p.id == purpose_id)

    def category(self, category_id: str) -> Category:
        return next(c for c in self.categories if c.id == category_id)

    def recipient(self, recipient_id: str) -> Recipient:
        return next(r for r in self.recipients if r.id == recipient_id)

    def shared_topics(self) -> tuple[str, ...]:
        """Every ``shared.<recipient>.<purpose>`` topic a route writes, sorted."""
        return tuple(sorted({shared_topic(r.recipient, r.purpose) for r in self.routes}))

    def consent_validity(self) -> dict[str, timedelta]:
        """Each consent scope that expires, and how long a grant of it stays in force."""
        return {p.id: period(p.consent_valid_for) for p in self.purposes if p.consent_valid_for}

    def topic_retention(self) -> dict[str, timedelta]:
        """Each shared topic's retention (default 30 days); should its routes disagree (a fault
        ``check-policy`` names), the shortest: the topic keeps less."""
        kept: dict[str, timedelta] = {}
        for route in self.routes:
            topic = shared_topic(route.recipient, route.purpose)
            days = duration(route.retention) if route.retention else DEFAULT_RETENTION
            kept[topic] = min(days, kept.get(topic, days))
        return kept

    def topic_consumer_groups(self) -> dict[str, str]:
        """Each shared topic's recipient consumer group: the one its routes declare, else
        ``<recipient>.<purpose>``; should its routes disagree (a fault ``check-policy`` names),
        the first declared."""
        groups: dict[str, str] = {}
        for route in self.routes:
            topic = shared_topic(route.recipient, route.purpose)
            if route.consumer_group and topic not in groups:
                groups[topic] = route.consumer_group
        for route in self.routes:
            topic = shared_topic(route.recipient, route.purpose)
            groups.setdefault(topic, default_consumer_group(route.recipient, route.purpose))
        return dict(sorted(groups.items()))


def default_consumer_group(recipient: str, purpose: str) -> str:
    """The consumer group a recipient reads a topic with when its routes name none.

    >>> default_consumer_group("septem-cargo", "fulfilment")
    'septem-cargo.fulfilment'
    """
    return f"{recipient}.{purpose}"


#: A shared topic's retention when none of its routes declares one.
DEFAULT_RETENTION: Final = timedelta(days=30)
