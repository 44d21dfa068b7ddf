"""The bulk grant writer: many grants checked exactly as ``Grant.create`` checks one, and
written with their installments and history in batches (by COPY on PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from grants import rules
from grants.agreement_forms import seed_form
from grants.db import in_lists
from grants.models import (
    ClosingPrice,
    Grant,
    GrantFacts,
    GrantTerms,
    Installment,
    Optionee,
    Plan,
)
from grants.models.dates import require_date
from grants.models.facts import people_facts
from grants.validators import validate_identifier


def validate_grant_number(number: str) -> None:
    """The grant number keeps to the safe characters of an identifier."""
    try:
        validate_identifier(number)
    except ValidationError as error:
        raise ValidationError(
            f"The grant number is refused. {' '.join(error.messages)}", code="bad_number"
        ) from None


def check_schedule(
    grant_date: dt.date, shares: int, installments: list[tuple[dt.date, int]]
) -> list[rules.Installment]:
    """Paragraph 1a: the schedule must be the whole grant, with no installment before the
    grant date. Returns the installments; raises what ``rules.check_schedule`` raises.
    Used by ``create_many`` and by any screen that previews a schedule before saving."""
    schedule = [
        rules.Installment(require_date(d, "An installment date"), rules.whole_shares(n))
        for d, n in installments
    ]
    rules.check_schedule(grant_date=grant_date, total_shares=shares, installments=schedule)
    return schedule


def create_many(
    specs: list[dict], *, save: bool = True, batch_size: int = 5_000
) -> list[Grant | ValidationError]:
    """Grant many options at once (an import). Each spec holds the keyword arguments of
    ``create`` and is checked exactly as ``create`` checks one grant: the same checks
    in the same order with the same messages (paragraphs 1a, 2a and 10, the grant
    number, the company). The plan's reserve is consumed in the order of the specs by
    those that pass, so the spec that would overflow it is the one refused, as if each
    had been made by ``create`` one after the other.

    The queries do not depend on the number of specs (beyond one per ``batch_size``
    values in a list): the plans and the agreement forms are locked once, and the
    reserves, the closing prices on the grant dates, the grant numbers already in the
    book, the optionees' standing terminations and liability windows and the companies'
    registration suspensions are each read in one query.

    Returns, per spec in order, the grant or the ``ValidationError`` that refused it.
    Nothing is written unless every spec passes, and nothing at all when ``save`` is
    false (a check only). Then the optionees not yet saved, the grants and their
    installments are inserted in batches, every row with its history.
    """
    outcomes: list = [None] * len(specs)
    checked = []
    for index, spec in enumerate(specs):
        try:
            validate_grant_number(spec["number"])
            grant_date = require_date(spec["grant_date"], "The grant date")
            term_end = require_date(spec["term_end"], "The end of the term")
            shares = rules.whole_shares(spec["shares"])
            price = Decimal(str(spec["exercise_price"]))
            if price <= 0:
                raise ValidationError(
                    f"The exercise price must be above zero (it is ${price}); enter the price "
                    f"per share the option is granted at.",
                    code="bad_price",
                )
            if spec["optionee"].company_id != spec["plan"].company_id:
                raise ValidationError(
                    "The optionee and the plan belong to different companies.",
                    code="company_mismatch",
                )
            schedule = check_schedule(grant_date, shares, spec["installments"])
        except ValidationError as error:
            outcomes[index] = error
            continue
        checked.append((index, spec, grant_date, term_end, shares, price, schedule))
    if not checked:
        return outcomes

    def chunks(values: list) -> list[list]:
        return [values[i : i + batch_size] for i in range(0, len(values), batch_size)]

    made: list[tuple[Grant, list[rules.Installment]]] = []
    with transaction.atomic():
        # Locked once each, in a fixed order; the plan row alone, not its company.
        plans = {
            plan.pk: plan
            for plan in Plan.objects.select_for_update(of=("self",))
            .select_related("company")
            .filter(pk__in={spec["plan"].pk for _, spec, *_ in checked})
            .order_by("pk")
        }
        if len(plans) < len({spec["plan"].pk for _, spec, *_ in checked}):
            raise Plan.DoesNotExist("A plan of these grants is no longer in the book.")
        # The agreement forms, locked and read afresh: a form is editable until a grant is
        # made under it, so an administrator saving one (which locks its row,
        # GrantTermsAdmin) and a grant made under it take turns. The grant is derived from
        # the form as it stands when it is made, and a form saved after it sees it.
        standard = (
            seed_form() if any(sp.get("grant_terms") is None for _, sp, *_ in checked) else None
        )
        wanted = {(spec.get("grant_terms") or standard).pk for _, spec, *_ in checked}
        forms = {
            form.pk: form
            for form in GrantTerms.objects.select_for_update(no_key=True, of=("self",))
            .filter(pk__in=wanted)
            .order_by("pk")
        }
        if len(forms) < len(wanted):
            raise GrantTerms.DoesNotExist(
                "An agreement form of these grants is no longer in the book."
            )
        companies = {plan.company_id: plan.company for plan in plans.values()}
        today = {pk: company.today() for pk, company in companies.items()}
        # The reserve as the book has recorded it (``Plan.reserve_available``, what
        # check_books checks): shares of an option past its last day return when the
        # nightly job records the expiry, that night. Never more than the plan allows.
        available = {pk: plan.share_reserve for pk, plan in plans.items()}
        for plan_id, used in Plan.used_by_plan(
            Grant.objects.filter(plan_id__in=list(plans))
        ).values_list("plan", "used"):
            available[plan_id] -= used
        closing: dict[tuple[int, dt.date], Decimal] = {}
        for days in chunks(sorted({grant_date for _, _, grant_date, *_ in checked})):
            for company_id, day, value in ClosingPrice.objects.filter(
                company_id__in=list(companies), date__in=days
            ).values_list("company_id", "date", "price"):
                closing[company_id, day] = value
        taken: set[str] = set()
        numbers = [spec["number"] for _, spec, *_ in checked]
        for values in in_lists(numbers):
            taken.update(
                Grant.objects.filter(number__in=values).order_by().values_list("number", flat=True)
            )
        people = people_facts(
            {spec["optionee"].pk for _, spec, *_ in checked},
            set(companies),
            batch_size=batch_size,
        )
        for index, spec, grant_date, term_end, shares, price, schedule in checked:
            plan, optionee, number = plans[spec["plan"].pk], spec["optionee"], spec["number"]
            try:
                rules.check_price_at_grant(
                    price,
                    closing.get((plan.company_id, grant_date)),
                    discount_confirmed=spec.get("discount_confirmed", False),
                )
                rules.check_plan_limits(
                    shares=shares,
                    grant_date=grant_date,
                    term_end=term_end,
                    reserve_available=available[plan.pk],
                    max_term_years=plan.max_term_years,
                )
                if number in taken:
                    raise ValidationError(
                        f"Grant number {number} is already used; choose another.",
                        code="duplicate",
                    )
                terms = forms[(spec.get("grant_terms") or standard).pk]  # the seed's by default
                grant = Grant(
                    number=number,
                    plan=plan,
                    optionee=optionee,
                    terms=terms,
                    option_type=spec.get("option_type", Grant.Type.NSO),
                    grant_date=grant_date,
                    shares=shares,
                    exercise_price=price,
                    term_end=term_end,
                    expires_on=term_end,
                )
                # Derived before the grant has a key: no query for warnings sent.
                grant.derive(
                    GrantFacts(
                        installments=schedule,
                        exercised=0,
                        termination=people.terminations.get(optionee.pk),
                        suspensions=people.suspensions[plan.company_id],
                        liability_windows=people.windows.get(optionee.pk, []),
                        accelerated=terms.as_rules().accelerates(
                            people.terminations.get(optionee.pk)
                        ),
                    ),
                    today[plan.company_id],
                )
            except ValidationError as error:
                outcomes[index] = error
                continue
            available[plan.pk] -= shares
            taken.add(number)
            outcomes[index] = grant
            made.append((grant, schedule))
        if not save or len(made) < len(specs):
            return outcomes
        new_optionees = list(
            {
                id(spec["optionee"]): spec["optionee"]
                for spec in specs
                if spec["optionee"].pk is None
            }.values()
        )
        connection = transaction.get_connection()
        if connection.vendor == "postgresql" and len(made) > 1:
            # An import: PostgreSQL's COPY, the same rows and history, many times faster.
            for model, objs in ((Optionee, new_optionees), (Grant, [g for g, _ in made])):
                fields = [f for f in model._meta.concrete_fields if not f.primary_key]
                if model is Grant:
                    for grant in objs:
                        grant.optionee = grant.optionee  # its key, if it is new
                keys = copy_with_history(
                    model, [tuple(f.pre_save(obj, True) for f in fields) for obj in objs]
                )
                for obj, key in zip(objs, keys, strict=True):
                    obj.pk = key
                    obj._state.adding, obj._state.db = False, connection.alias
            copy_with_history(
                Installment,
                [(grant.pk, i.vest_date, i.shares) for grant, schedule in made for i in schedule],
                found_by="grant_id",  # the installments of new grants are all new
            )
            return outcomes
        for batch in chunks(new_optionees):
            bulk_create_with_history(batch, Optionee, batch_size=batch_size)
        for batch in chunks(made):
            # bulk_create takes each new optionee's key, now that it has one.
            bulk_create_with_history([g for g, _ in batch], Grant, batch_size=batch_size)
            # With history: the schedule's creation belongs in the audit trail too.
            bulk_create_with_history(
                [
                    Installment(grant=grant, vest_date=i.vest_date, shares=i.shares)
                    for grant, schedule in batch
                    for i in schedule
                ],
                Installment,
                batch_size=batch_size,
            )
    return outcomes


def copy_with_history(
    model: type[models.Model], rows: list[tuple], *, found_by: str | None = None
) -> list[int]:
    """For ``create_many`` on PostgreSQL: insert ``rows`` (the values of ``model``'s
    concrete fields but the key, in their order) by COPY, then their creation ("+")
    history rows as ``bulk_create_with_history`` writes them (the user and the source of
    the moment), copied from the new rows by the database.

    Without ``found_by``, the keys are drawn from the table's sequence first and
    returned in row order; with it (a foreign key column such as ``grant_id`` whose
    rows in the table are all new), the table gives the keys and the new rows are
    those with the values of ``found_by`` in ``rows``."""
    connection = transaction.get_connection()
    quote, meta = connection.ops.quote_name, model._meta
    if not rows:
        return []
    table = quote(meta.db_table)
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    with connection.cursor() as cursor:
        if found_by is None:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            keys = sorted(key for (key,) in cursor.fetchall())
            columns = ", ".join(quote(f.column) for f in [meta.pk, *fields])
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for key, row in zip(keys, rows, strict=True):
                    copy.write_row((key, *row))
            found, values = meta.pk.column, keys
        else:
            keys = []
            columns = ", ".join(quote(f.column) for f in fields)
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            at = [f.attname for f in fields].index(found_by)
            found = meta.get_field(found_by.removesuffix("_id")).column
            values = sorted({row[at] for row in rows})
        if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
            return keys
        history = model.history.model
        user = history.get_default_history_user(model())
        columns_of = {f.attname: f.column for f in meta.concrete_fields}
        fixed = {
            "history_date": timezone.now(),
            "history_change_reason": None,
            "history_type": "+",
            "history_user_id": user.pk if user else None,
        }
        targets, sources, params = [], [], []
        for f in history._meta.concrete_fields:
            if f.primary_key:
                continue
            targets.append(quote(f.column))
            if f.attname in columns_of:
                sources.append(f"{table}.{quote(columns_of[f.attname])}")
            else:
                sources.append("%s")
                params.append(fixed[f.attname] if f.attname in fixed else f.get_default())
        cursor.execute(
            f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(targets)}) "
            f"SELECT {', '.join(sources)} FROM {table} "
            f"WHERE {table}.{quote(found)} = ANY(%s) ORDER BY {table}.{quote(meta.pk.column)}",
            [*params, values],
        )
    return keys
