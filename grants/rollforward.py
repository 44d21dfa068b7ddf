"""The 10-K option table (ASC 718-10-50-2(c)): options outstanding at the start of a
period, granted, exercised, forfeited, expired and outstanding at the end, with the
weighted-average exercise prices, the remaining term and the intrinsic values.

Pure, like ``grants/rules/``: each grant is read as a list of dated movements of its
shares (``movements``), and the table adds them up (``Table``). Because every figure of
the table is a sum of the same movements, ``start + granted - exercised - forfeited -
expired = end`` holds for shares and for share-dollars alike, whatever the book. The book
is read by ``grants.services.reports``.

A grant's shares leave the outstanding options by one of three movements:

- **exercised**: the shares of each exercise made (paid, issued or awaiting the broker's
  payment), on its exercise date; a pending request is still outstanding;
- **forfeited**: the shares not vested when service ended (paragraph 5c: on the
  termination date, none when the agreement form accelerates vesting for the reason), or
  when the option was forfeited (``Grant.forfeit``: nothing vests from that day), on that
  day;
- **expired**: the vested shares never exercised, on the day after the option's last day
  (its effective expiration date: the end of the term, or of the window after
  termination), or on the day the option was forfeited if that comes first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from grants import rules

GRANTED, EXERCISED, FORFEITED, EXPIRED = "granted", "exercised", "forfeited", "expired"
LEAVING = (EXERCISED, FORFEITED, EXPIRED)
CENT = Decimal("0.01")
DAYS_PER_YEAR = Decimal("365.25")
ONE_DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Option:
    """One grant as the table reads it."""

    grant_date: dt.date
    shares: int
    exercise_price: Decimal
    installments: Sequence[rules.Installment]
    expires_on: dt.date  # the last day it may be exercised
    # (exercise date, shares, fair market value per share on that date or None)
    exercises: Sequence[tuple[dt.date, int, Decimal | None]] = ()
    termination_on: dt.date | None = None
    accelerated: bool = False
    forfeited_on: dt.date | None = None
    fair_value: Decimal | None = None  # grant-date fair value per share


@dataclass(frozen=True)
class Movement:
    kind: str
    on: dt.date
    shares: int


def service_end(
    termination_on: dt.date | None, accelerated: bool, forfeited_on: dt.date | None
) -> tuple[dt.date | None, dt.date | None, bool]:
    """The last day anything vests, the day the unvested shares are forfeited, and whether
    vesting is accelerated then: a termination (its date, both), or a forfeiture of the
    option (nothing vests from its day on) if that comes first."""
    ended, last = termination_on, termination_on
    if forfeited_on is not None and (ended is None or forfeited_on <= ended):
        ended, last, accelerated = forfeited_on, forfeited_on - ONE_DAY, False
    return last, ended, accelerated


def vesting_end(option: Option) -> tuple[dt.date | None, dt.date | None, bool]:
    """``service_end`` of ``option``."""
    return service_end(option.termination_on, option.accelerated, option.forfeited_on)


def vested(option: Option, on: dt.date) -> int:
    """Shares of ``option`` vested by the end of ``on``."""
    last, _, accelerated = vesting_end(option)
    return rules.vested_shares(option.installments, on, last, accelerated)


def movements(option: Option) -> list[Movement]:
    """Every dated movement of ``option``'s shares (see the module's docstring)."""
    moves = [Movement(GRANTED, option.grant_date, option.shares)]
    moves += [Movement(EXERCISED, on, shares) for on, shares, _ in option.exercises if shares]
    last, ended, accelerated = vesting_end(option)
    forfeited = rules.forfeited_shares(option.installments, last, accelerated)
    if forfeited:
        moves.append(Movement(FORFEITED, ended, forfeited))
    lapses = option.expires_on + ONE_DAY
    if option.forfeited_on is not None:
        lapses = min(lapses, option.forfeited_on)
    unexercised = option.shares - forfeited - sum(shares for _, shares, _ in option.exercises)
    if unexercised:
        moves.append(Movement(EXPIRED, lapses, unexercised))
    return moves


@dataclass
class Line:
    """Shares and the sum of shares x exercise price of one line of the table."""

    shares: int = 0
    price_weight: Decimal = field(default_factory=Decimal)
    # For the end's outstanding and exercisable options only:
    term_weight: int = 0  # shares x days left until the option's last day
    intrinsic: Decimal = field(default_factory=Decimal)

    def add(self, shares: int, price: Decimal) -> None:
        self.shares += shares
        self.price_weight += shares * price

    @property
    def weighted_average_exercise_price(self) -> Decimal | None:
        if not self.shares:
            return None
        return (self.price_weight / self.shares).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def remaining_term_years(self) -> Decimal | None:
        if not self.shares:
            return None
        years = Decimal(self.term_weight) / self.shares / DAYS_PER_YEAR
        return years.quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def intrinsic_value(self) -> Decimal:
        return self.intrinsic.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class Table:
    """The table for the days ``start`` through ``end``, intrinsic values at ``price``."""

    start: dt.date
    end: dt.date
    price: Decimal | None
    outstanding_start: Line = field(default_factory=Line)
    granted: Line = field(default_factory=Line)
    exercised: Line = field(default_factory=Line)
    forfeited: Line = field(default_factory=Line)
    expired: Line = field(default_factory=Line)
    outstanding_end: Line = field(default_factory=Line)
    exercisable_end: Line = field(default_factory=Line)
    granted_fair_value: Decimal = field(default_factory=Decimal)  # shares x value
    granted_valued: int = 0  # granted shares with a fair value
    exercised_intrinsic: Decimal = field(default_factory=Decimal)

    LINES = (
        "outstanding_start",
        "granted",
        "exercised",
        "forfeited",
        "expired",
        "outstanding_end",
        "exercisable_end",
    )

    def add(self, option: Option) -> None:
        """Add one grant's movements."""
        price = option.exercise_price
        before = self.start - ONE_DAY
        outstanding_before = outstanding_end = 0
        for move in movements(option):
            sign = 1 if move.kind == GRANTED else -1
            if move.on <= before:
                outstanding_before += sign * move.shares
            if move.on <= self.end:
                outstanding_end += sign * move.shares
            if self.start <= move.on <= self.end:
                getattr(self, move.kind).add(move.shares, price)
        if self.start <= option.grant_date <= self.end and option.fair_value is not None:
            self.granted_fair_value += option.shares * option.fair_value
            self.granted_valued += option.shares
        for on, shares, value in option.exercises:
            if self.start <= on <= self.end and value is not None:
                self.exercised_intrinsic += shares * max(Decimal(0), value - price)
        self.outstanding_start.add(outstanding_before, price)
        self.outstanding_end.add(outstanding_end, price)
        if outstanding_end:
            days_left = max(0, (option.expires_on - self.end).days)
            spread = max(Decimal(0), self.price - price) if self.price is not None else Decimal(0)
            made = sum(shares for on, shares, _ in option.exercises if on <= self.end)
            exercisable = min(outstanding_end, max(0, vested(option, self.end) - made))
            ends = ((self.outstanding_end, outstanding_end), (self.exercisable_end, exercisable))
            for line, shares in ends:
                line.term_weight += shares * days_left
                line.intrinsic += shares * spread
            self.exercisable_end.add(exercisable, price)

    @property
    def balances(self) -> bool:
        """start + granted - exercised - forfeited - expired = end, in shares and dollars."""
        moved = [self.outstanding_start, self.granted]
        left = [self.exercised, self.forfeited, self.expired]
        shares = sum(x.shares for x in moved) - sum(x.shares for x in left)
        dollars = sum(x.price_weight for x in moved) - sum(x.price_weight for x in left)
        return (shares, dollars) == (
            self.outstanding_end.shares,
            self.outstanding_end.price_weight,
        )

    @property
    def weighted_average_grant_date_fair_value(self) -> Decimal | None:
        if not self.granted_valued:
            return None
        average = self.granted_fair_value / self.granted_valued
        return average.quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def exercised_intrinsic_value(self) -> Decimal:
        return self.exercised_intrinsic.quantize(CENT, rounding=ROUND_HALF_UP)

    def as_dict(self) -> dict:
        """The table with numbers as strings of decimals (the JSON the command writes)."""

        def text(value) -> str | None:
            return None if value is None else str(value)

        table = {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "closing_price": text(self.price),
        }
        for name in self.LINES:
            line = getattr(self, name)
            table[name] = {
                "shares": str(line.shares),
                "weighted_average_exercise_price": text(line.weighted_average_exercise_price),
            }
            if name in ("outstanding_end", "exercisable_end"):
                table[name]["remaining_term_years"] = text(line.remaining_term_years)
                table[name]["intrinsic_value"] = text(
                    line.intrinsic_value if self.price is not None else None
                )
        table["weighted_average_grant_date_fair_value"] = text(
            self.weighted_average_grant_date_fair_value
        )
        table["granted_shares_without_fair_value"] = str(self.granted.shares - self.granted_valued)
        table["intrinsic_value_exercised"] = str(self.exercised_intrinsic_value)
        return table


def table(options: Iterable[Option], start: dt.date, end: dt.date, price: Decimal | None):
    """The table of ``options`` for the days ``start`` through ``end``."""
    result = Table(start=start, end=end, price=price)
    for option in options:
        result.add(option)
    return result
