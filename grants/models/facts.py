"""What the rules read about a grant and what they answer: the facts gathered once per grant
(or for many grants in a few queries), and where a grant stands on a day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from grants import rules
from grants.models.company import RegistrationSuspension
from grants.models.people import ExerciseHold, Section16Window, Termination


@dataclass(frozen=True)
class GrantFacts:
    """Every recorded fact the rules need about one grant, gathered once."""

    installments: list[rules.Installment]
    # Every share taken from the option: exercised, or reserved by a pending request.
    exercised: int
    termination: rules.Termination | None
    suspensions: list[rules.Period]
    liability_windows: list[rules.Period]
    # Of ``exercised``, the shares of pending requests (a notice without its price,
    # paragraphs 2b and 6a): reserved, but not exercised until the price arrives.
    pending: int = 0
    # Of ``exercised``, the shares charged to one installment under exception 3(a), by the
    # installment's vesting date.
    charged: Mapping[dt.date, int] = field(default_factory=dict)
    # The grant's agreement form accelerates vesting for the termination's reason.
    accelerated: bool = False
    # The optionee's exercise holds (a pending for-cause determination): no exercise then.
    holds: list[rules.Period] = field(default_factory=list)
    # The day the grant was forfeited (``Grant.forfeit``): nothing vests or is exercisable
    # from that day on.
    forfeited_on: dt.date | None = None

    @property
    def service_end(self) -> dt.date | None:
        return self.termination.on if self.termination else None

    def vested(self, on: dt.date) -> int:
        if self.forfeited_on is not None and on >= self.forfeited_on:
            on = self.forfeited_on - dt.timedelta(days=1)
        return rules.vested_shares(self.installments, on, self.service_end, self.accelerated)

    def forfeited_by_then(self, on: dt.date) -> bool:
        """Whether the grant was forfeited on or before ``on``."""
        return self.forfeited_on is not None and on >= self.forfeited_on

    @property
    def forfeited(self) -> int:
        return rules.forfeited_shares(self.installments, self.service_end, self.accelerated)

    @property
    def blocked(self) -> list[rules.Period]:
        """The days on which no exercise is accepted: registration suspensions and holds."""
        return [*self.suspensions, *self.holds]

    @property
    def made(self) -> int:
        """The shares of exercises made: taken, less those of pending requests."""
        return self.exercised - self.pending


@dataclass(frozen=True)
class Position:
    """Where a grant stands on one day, as the optionee and the administrator see it."""

    on: dt.date
    total: int
    vested: int
    exercised: int  # exercised or reserved by a pending request
    pending: int  # of ``exercised``: reserved by pending requests, the price not yet received
    exercisable: int
    unvested: int
    forfeited: int
    next_vest_date: dt.date | None
    next_vest_shares: int
    expiration: rules.Expiration
    terminated_on: dt.date | None
    closing_price: Decimal | None  # the latest closing price on or before ``on``
    price_date: dt.date | None  # the day of that closing price
    # What the exercisable shares are worth over their price: (closing price - exercise
    # price) x exercisable, never below zero, zero once the option has ended.
    intrinsic_value: Decimal | None
    status: str  # the status people see: the rules' answer for ``on`` (``Grant.status_on``)
    status_label: str
    # Why nothing can be exercised any more when the option ended early (forfeited or
    # cancelled), in a sentence for the optionee; "" otherwise.
    ended_note: str = ""
    # The optionee's exercise hold that covers ``on`` or starts later, if any.
    hold: rules.Period | None = None

    @property
    def days_left(self) -> int:
        return (self.expiration.on - self.on).days

    @property
    def is_expired(self) -> bool:
        return self.on > self.expiration.on

    @property
    def is_over(self) -> bool:
        """Whether the option can no longer be exercised: expired, forfeited or cancelled."""
        return bool(self.ended_note) or self.is_expired


@dataclass(frozen=True)
class ScheduleRow:
    vest_date: dt.date
    shares: int
    vested: bool
    forfeited: bool
    exercised: int


@dataclass(frozen=True)
class PeopleFacts:
    """What a grant's rules read besides its own rows, for many optionees at once."""

    terminations: dict[int, rules.Termination]  # the standing one, by optionee
    windows: dict[int, list[rules.Period]]  # Section 16(b) liability windows, by optionee
    suspensions: dict[int, list[rules.Period]]  # registration suspensions, by company
    holds: dict[int, list[rules.Period]]  # exercise holds, by optionee


def people_facts(
    optionee_ids: set[int], company_ids: set[int], *, batch_size: int = 5_000
) -> PeopleFacts:
    """What a grant's rules read besides its own rows: the standing termination, the
    Section 16(b) liability windows and the exercise holds of each optionee, and the
    registration suspensions of each company; one query each (per ``batch_size``
    optionees)."""
    ids = sorted(i for i in optionee_ids if i is not None)
    terminations: dict[int, rules.Termination] = {}
    windows: dict[int, list[rules.Period]] = {}
    holds: dict[int, list[rules.Period]] = {}
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        for optionee_id, on, reason in Termination.objects.filter(
            optionee_id__in=chunk, reversed_at__isnull=True
        ).values_list("optionee_id", "on", "reason"):
            terminations.setdefault(optionee_id, rules.Termination(on, reason))
        for optionee_id, begins, ends in (
            Section16Window.objects.filter(optionee_id__in=chunk)
            .order_by("start", "pk")
            .values_list("optionee_id", "start", "end")
        ):
            windows.setdefault(optionee_id, []).append(rules.Period(begins, ends))
        for optionee_id, begins, ends in (
            ExerciseHold.objects.filter(optionee_id__in=chunk)
            .order_by("start", "pk")
            .values_list("optionee_id", "start", "end")
        ):
            holds.setdefault(optionee_id, []).append(rules.Period(begins, ends))
    suspensions: dict[int, list[rules.Period]] = {pk: [] for pk in company_ids}
    for company_id, begins, ends in (
        RegistrationSuspension.objects.filter(company_id__in=list(company_ids))
        .order_by("start", "pk")
        .values_list("company_id", "start", "end")
    ):
        suspensions[company_id].append(rules.Period(begins, ends))
    return PeopleFacts(terminations, windows, suspensions, holds)
