"""An OCF issuance's vesting as the book's installments: dated share counts.

An issuance gives its vesting either as ``vestings`` (dates and amounts, read as they
are) or as ``vesting_terms_id``, vesting terms whose conditions form a chain from the
vesting start (``TX_VESTING_START``; the issuance date when the package has none):
absolute dates, and schedules relative to an earlier condition (every N months or days,
``occurrences`` times, each occurrence vesting the condition's ``portion`` or
``quantity``). Shares are whole: the cumulative fraction vested is rounded as the terms'
``allocation_type`` says and each installment is the difference. Conditions met by an
event (``VESTING_EVENT``) vest on the date of the package's ``TX_VESTING_EVENT``; an
event not yet met has no date, and the book cannot hold it (refused, with the reason).
With neither, the option is vested in full at grant.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from fractions import Fraction


def installments(issuance: dict, index, security_id: str) -> list[tuple[dt.date, int]]:
    """The installments of ``issuance`` (raises ValueError naming the key at fault)."""
    total = Decimal(issuance["quantity"])
    if total != total.to_integral_value():
        raise ValueError(f"quantity: {issuance['quantity']} is not a whole number of shares")
    if issuance.get("vestings"):
        out: dict[dt.date, int] = {}
        for k, row in enumerate(issuance["vestings"]):
            amount = Decimal(row["amount"])
            if amount != amount.to_integral_value() or amount < 0:
                raise ValueError(
                    f"vestings[{k}].amount: {row['amount']} is not a whole number of shares"
                )
            day = dt.date.fromisoformat(row["date"])
            out[day] = out.get(day, 0) + int(amount)
        return sorted((day, shares) for day, shares in out.items() if shares)
    granted = dt.date.fromisoformat(issuance["date"])
    terms_id = issuance.get("vesting_terms_id")
    if not terms_id:
        return [(granted, int(total))]
    events = index.events.get(security_id, [])
    start = next(
        (
            dt.date.fromisoformat(e["date"])
            for _, _, e in events
            if e["object_type"] == "TX_VESTING_START"
        ),
        granted,
    )
    met = {
        e["vesting_condition_id"]: dt.date.fromisoformat(e["date"])
        for _, _, e in events
        if e["object_type"] == "TX_VESTING_EVENT"
    }
    terms = index.vesting_terms[terms_id]
    return from_terms(terms, int(total), start, met)


def from_terms(
    terms: dict, total: int, start: dt.date, met: dict[str, dt.date]
) -> list[tuple[dt.date, int]]:
    conditions = {c["id"]: c for c in terms["vesting_conditions"]}
    dated: dict[str, dt.date] = {}
    tranches: list[tuple[dt.date, Fraction]] = []  # (date, fraction of the total)
    where = f"vesting terms {terms['id']!r}"

    def share(condition: dict, left: Fraction) -> Fraction:
        if "portion" in condition:
            portion = condition["portion"]
            if portion.get("remainder"):
                return left
            return Fraction(Decimal(portion["numerator"])) / Fraction(
                Decimal(portion["denominator"])
            )
        return Fraction(Decimal(condition.get("quantity", "0"))) / total if total else Fraction(0)

    def when(condition: dict) -> list[dt.date]:
        trigger = condition["trigger"]
        kind = trigger["type"]
        if kind == "VESTING_START_DATE":
            return [start]
        if kind == "VESTING_SCHEDULE_ABSOLUTE":
            return [dt.date.fromisoformat(trigger["date"])]
        if kind == "VESTING_EVENT":
            if condition["id"] not in met:
                raise ValueError(
                    f"{where}, condition {condition['id']!r}: vests on an event the package "
                    f"does not record as met (no TX_VESTING_EVENT); the book holds dated "
                    f"installments only"
                )
            return [met[condition["id"]]]
        if kind == "VESTING_SCHEDULE_RELATIVE":
            anchor = trigger["relative_to_condition_id"]
            if anchor not in dated:
                raise ValueError(
                    f"{where}, condition {condition['id']!r}: relative to {anchor!r}, which "
                    f"does not come before it in the chain"
                )
            period = trigger["period"]
            return [
                _step(dated[anchor], period, k, start)
                for k in range(1, int(period.get("occurrences", 1)) + 1)
            ]
        raise ValueError(f"{where}, condition {condition['id']!r}: trigger {kind} is not supported")

    order = _chain(conditions, where)
    vested = Fraction(0)
    for condition in order:
        days = when(condition)
        dated[condition["id"]] = days[-1]
        if "portion" in condition and condition["portion"].get("remainder"):
            each = (1 - vested) / len(days)
        else:
            each = share(condition, 1 - vested)
        for day in days:
            if each:
                tranches.append((day, each))
                vested += each
    if vested != 1:
        raise ValueError(
            f"{where}: its conditions vest {float(vested):.4%} of the shares, not all of them"
        )
    return _allocate(tranches, total, terms.get("allocation_type", "CUMULATIVE_ROUNDING"), where)


def _chain(conditions: dict[str, dict], where: str) -> list[dict]:
    """The conditions in the order they follow each other, from the first (the one no other
    condition names as next)."""
    named = {n for c in conditions.values() for n in c.get("next_condition_ids", [])}
    first = [c for c in conditions.values() if c["id"] not in named]
    if len(first) != 1:
        raise ValueError(f"{where}: its conditions must form one chain from one first condition")
    order, seen, current = [], set(), first[0]
    while current is not None:
        if current["id"] in seen:
            raise ValueError(f"{where}: its conditions form a loop at {current['id']!r}")
        seen.add(current["id"])
        order.append(current)
        following = current.get("next_condition_ids", [])
        if len(following) > 1:
            raise ValueError(
                f"{where}, condition {current['id']!r}: alternative next conditions are "
                f"not supported"
            )
        if following and following[0] not in conditions:
            raise ValueError(f"{where}, condition {current['id']!r}: no condition {following[0]!r}")
        current = conditions[following[0]] if following else None
    return order


def _step(anchor: dt.date, period: dict, k: int, start: dt.date) -> dt.date:
    if period["type"] == "DAYS":
        return anchor + dt.timedelta(days=int(period["length"]) * k)
    months = anchor.month - 1 + int(period["length"]) * k
    year, month = anchor.year + months // 12, months % 12 + 1
    last = calendar.monthrange(year, month)[1]
    rule = period.get("day_of_month", "VESTING_START_DAY_OR_LAST_DAY_OF_MONTH")
    day = start.day if rule == "VESTING_START_DAY_OR_LAST_DAY_OF_MONTH" else int(rule[:2])
    return dt.date(year, month, min(day, last))


def _allocate(tranches: list[tuple[dt.date, Fraction]], total: int, kind: str, where: str):
    if kind == "FRACTIONAL":
        raise ValueError(
            f"{where}: allocation_type FRACTIONAL gives fractions of shares; the book "
            f"holds whole shares"
        )
    n = len(tranches)
    exact = [total * f for _, f in tranches]
    if kind in ("CUMULATIVE_ROUNDING", "CUMULATIVE_ROUND_DOWN"):
        amounts, done, running = [], 0, Fraction(0)
        for value in exact:
            running += value
            target = (
                int(running) if kind == "CUMULATIVE_ROUND_DOWN" else int(running + Fraction(1, 2))
            )
            amounts.append(target - done)
            done = target
        amounts[-1] += total - done
    else:
        amounts = [int(v) for v in exact]
        remainder = total - sum(amounts)
        places = {
            "FRONT_LOADED": range(remainder),
            "BACK_LOADED": range(n - remainder, n),
            "FRONT_LOADED_TO_SINGLE_TRANCHE": [0] * remainder,
            "BACK_LOADED_TO_SINGLE_TRANCHE": [n - 1] * remainder,
        }[kind]
        for i in places:
            amounts[i] += 1
    out: dict[dt.date, int] = {}
    for (day, _), amount in zip(tranches, amounts, strict=True):
        out[day] = out.get(day, 0) + amount
    return sorted((day, shares) for day, shares in out.items() if shares)


def accelerated(
    schedule: list[tuple[dt.date, int]], accelerations: list[tuple[dt.date, int]]
) -> list[tuple[dt.date, int]]:
    """The schedule with each acceleration (``TX_VESTING_ACCELERATION`` of another system:
    ``quantity`` shares vest on its date) made an installment of that date, its shares
    taken from the installments not yet vested then, the nearest first."""
    rows = dict(schedule)
    for on, shares in sorted(accelerations):
        later = sorted(day for day in rows if day > on)
        if sum(rows[day] for day in later) < shares:
            raise ValueError(
                f"the acceleration of {shares:,} shares on {on:%Y-%m-%d} is more than was "
                f"still to vest then"
            )
        left = shares
        for day in later:
            taken = min(left, rows[day])
            rows[day] -= taken
            left -= taken
            if not left:
                break
        rows[on] = rows.get(on, 0) + shares
    return sorted((day, n) for day, n in rows.items() if n)
