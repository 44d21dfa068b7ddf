"""Writing a company's option book as an OCF v1.2.0 package (``manage.py export_ocf``).

The package is the manifest and five files (stakeholders, stock classes, stock plans,
vesting terms, transactions), written one item at a time: grants are read in chunks with
their facts (``Grant.objects.with_facts()``), so memory stays flat however large the book.
Every share count and date comes from the rules, read as of the export's date: ``as_of``
exports the book as it stood that day (grants made, exercises made, terminations and
forfeitures taking effect, and expiries passed by then). The mapping, object by object,
is in ``docs/ocf.md``; what OCF has no field for travels in ``extensions`` comments.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError

from grants import agreement_forms, rules
from grants.models import (
    Company,
    Exercise,
    ExerciseHold,
    Grant,
    GrantTerms,
    Holiday,
    Installment,
    Optionee,
    Plan,
    RegistrationSuspension,
    Section16Window,
    Termination,
)
from grants.models.facts import GrantFacts, people_facts
from grants.models.grant import facts_of
from grants.ocf import extensions
from grants.ocf.validation import MANIFEST_FILE, OCF_VERSION

STOCK_CLASS_ID = "common"
FILES = {  # manifest key -> (file name, file type)
    "stakeholders_files": ("Stakeholders.ocf.json", "OCF_STAKEHOLDERS_FILE"),
    "stock_classes_files": ("StockClasses.ocf.json", "OCF_STOCK_CLASSES_FILE"),
    "stock_plans_files": ("StockPlans.ocf.json", "OCF_STOCK_PLANS_FILE"),
    "vesting_terms_files": ("VestingTerms.ocf.json", "OCF_VESTING_TERMS_FILE"),
    "transactions_files": ("Transactions.ocf.json", "OCF_TRANSACTIONS_FILE"),
}
MANIFEST_NAME = "Manifest.ocf.json"
RELATIONSHIPS = {  # ours -> OCF's StakeholderRelationshipType, in service and after
    Optionee.Relationship.EMPLOYEE: ("EMPLOYEE", "EX_EMPLOYEE"),
    Optionee.Relationship.OFFICER: ("OFFICER", "EX_EMPLOYEE"),
    Optionee.Relationship.DIRECTOR: ("BOARD_MEMBER", "OTHER"),
    Optionee.Relationship.CONSULTANT: ("CONSULTANT", "EX_CONSULTANT"),
}
CHUNK = 2000


def number(value: Decimal | int) -> str:
    """OCF's Numeric: a plain decimal string, never an exponent."""
    return format(Decimal(value), "f")


def stakeholder_id(employee_id: str, legal_name: str, email: str) -> str:
    """A stakeholder's id from what survives a round trip: the employee id, or a digest of
    the name and e-mail address."""
    if employee_id:
        return f"stakeholder.{employee_id}"
    digest = hashlib.sha1(f"{legal_name}\n{email}".encode()).hexdigest()[:12]
    return f"stakeholder.{digest}"


def plan_id(name: str) -> str:
    return f"plan.{name}"


class _ItemsFile:
    """An OCF file written item by item, with its MD5 kept as it is written."""

    def __init__(self, path: Path, file_type: str):
        self.path, self.md5, self.count = path, hashlib.md5(usedforsecurity=False), 0
        self.handle = path.open("w", encoding="utf-8", newline="\n")
        head = json.dumps({"file_type": file_type})
        self._write(head[:-1] + ', "items": [')

    def _write(self, text: str) -> None:
        self.handle.write(text)
        self.md5.update(text.encode())

    def add(self, item: dict) -> None:
        self._write(("\n" if self.count == 0 else ",\n") + json.dumps(item, ensure_ascii=False))
        self.count += 1

    def close(self) -> str:
        self._write("\n]}\n")
        self.handle.close()
        return self.md5.hexdigest()


@dataclasses.dataclass
class ExportSummary:
    directory: Path
    as_of: dt.date
    counts: dict[str, int]

    def __str__(self) -> str:
        shown = ", ".join(f"{count:,} {name}" for name, count in self.counts.items())
        return f"OCF package written to {self.directory} as of {self.as_of:%Y-%m-%d}: {shown}."


def export_package(
    company: Company,
    directory: str | Path,
    as_of: dt.date | None = None,
    generated_at: dt.datetime | None = None,
) -> ExportSummary:
    """Write ``company``'s book as it stood on ``as_of`` (today when None) into
    ``directory`` (created if needed; the package's files in it are replaced)."""
    if company.formation_date is None:
        raise ValidationError(
            f"OCF requires the issuer's formation date: record {company.name}'s in the back "
            f"office (Company → formation date) and export again.",
            code="no_formation_date",
        )
    as_of = as_of or company.today()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    grants = Grant.objects.filter(plan__company=company, grant_date__lte=as_of)
    files = {key: _ItemsFile(directory / name, kind) for key, (name, kind) in FILES.items()}
    forms: set[int] = set()
    for optionee in _optionees(company, as_of):
        files["stakeholders_files"].add(optionee)
    files["stock_classes_files"].add(_stock_class())
    for plan in Plan.objects.filter(company=company).order_by("name"):
        files["stock_plans_files"].add(_stock_plan(plan))
    for grant, exercises in grants_with_facts(grants, as_of):
        forms.add(grant.terms_id)
        for item in _transactions(grant, exercises, as_of):
            files["transactions_files"].add(item)
    md5s = {key: file.close() for key, file in files.items()}
    manifest = {
        "ocf_version": OCF_VERSION,
        "file_type": MANIFEST_FILE,
        "issuer": _issuer(company, as_of, forms),
        "as_of": as_of.isoformat(),
        "generated_at": (generated_at or company.now()).isoformat(timespec="seconds"),
        "stock_plans_files": [],
        "stock_legend_templates_files": [],
        "stock_classes_files": [],
        "vesting_terms_files": [],
        "valuations_files": [],
        "transactions_files": [],
        "stakeholders_files": [],
    }
    for key, (name, _) in FILES.items():
        manifest[key] = [{"filepath": f"./{name}", "md5": md5s[key]}]
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (directory / MANIFEST_NAME).write_text(text, encoding="utf-8")
    counts = {
        "stakeholders": files["stakeholders_files"].count,
        "stock plans": files["stock_plans_files"].count,
        "transactions": files["transactions_files"].count,
    }
    return ExportSummary(directory, as_of, counts)


# --------------------------------------------------------------------------- the issuer


def _issuer(company: Company, as_of: dt.date, form_ids: set[int]) -> dict:
    notes = [
        extensions.comment(
            "company",
            time_zone=company.time_zone,
            opens_at=company.opens_at.strftime("%H:%M"),
            closes_at=company.closes_at.strftime("%H:%M"),
            business_days=company.business_days,
            holiday_calendar=company.holiday_calendar,
            secretary=company.secretary,
            address=company.address,
            expiry_warning_days=company.expiry_warning_days,
        )
    ]
    for day, name, closed in (
        Holiday.objects.filter(company=company)
        .order_by("date", "name")
        .values_list("date", "name", "closed")
    ):
        notes.append(extensions.comment("holiday", date=day.isoformat(), name=name, closed=closed))
    for start, end, note in (
        RegistrationSuspension.objects.filter(company=company, start__lte=as_of)
        .order_by("start", "pk")
        .values_list("start", "end", "note")
    ):
        notes.append(
            extensions.comment(
                "registration_suspension",
                start=start.isoformat(),
                end=end.isoformat() if end and end <= as_of else None,
                note=note,
            )
        )
    for form in GrantTerms.objects.filter(pk__in=form_ids).order_by("name"):
        notes.append(extensions.comment("agreement_form", form=agreement_forms.write(form)))
    issuer = {
        "object_type": "ISSUER",
        "id": "issuer",
        "legal_name": company.name,
        "formation_date": company.formation_date.isoformat(),
        "country_of_formation": company.country_of_formation,
    }
    if company.country_subdivision_of_formation:
        issuer["country_subdivision_of_formation"] = company.country_subdivision_of_formation
    issuer["comments"] = notes
    return issuer


def _stock_class() -> dict:
    return {
        "object_type": "STOCK_CLASS",
        "id": STOCK_CLASS_ID,
        "name": "Common Stock",
        "class_type": "COMMON",
        "default_id_prefix": "CS-",
        # The book does not keep the company's authorized shares.
        "initial_shares_authorized": "NOT APPLICABLE",
        "votes_per_share": "1",
        "seniority": "1",
    }


def _stock_plan(plan: Plan) -> dict:
    return {
        "object_type": "STOCK_PLAN",
        "id": plan_id(plan.name),
        "plan_name": plan.name,
        "initial_shares_reserved": number(plan.share_reserve),
        "default_cancellation_behavior": "RETURN_TO_POOL",
        "stock_class_ids": [STOCK_CLASS_ID],
        "comments": [extensions.comment("plan", max_term_years=plan.max_term_years)],
    }


# --------------------------------------------------------------------------- stakeholders


def _optionees(company: Company, as_of: dt.date) -> Iterator[dict]:
    """Each optionee with a grant made by ``as_of``, with what the rules read of them (their
    terminations, windows and holds read a chunk of optionees at a time, as tuples)."""
    optionees = (
        Optionee.objects.filter(company=company, grants__grant_date__lte=as_of)
        .distinct()
        .order_by("legal_name", "pk")
        .only(
            "legal_name",
            "email",
            "employee_id",
            "relationship",
            "is_section16_insider",
            "date_of_death",
        )
    )
    chunk: list[Optionee] = []
    for optionee in optionees.iterator(chunk_size=CHUNK):
        chunk.append(optionee)
        if len(chunk) == CHUNK:
            yield from _stakeholders(chunk, as_of)
            chunk = []
    yield from _stakeholders(chunk, as_of)


def _stakeholders(chunk: list[Optionee], as_of: dt.date) -> Iterator[dict]:
    ids = [o.pk for o in chunk]
    rows: dict[str, dict[int, list]] = {"terminations": {}, "windows": {}, "holds": {}}
    for key, model, fields in (
        ("terminations", Termination, ("on", "reason", "note")),
        ("windows", Section16Window, ("start", "end")),
        ("holds", ExerciseHold, ("start", "end", "reason")),
    ):
        found = model.objects.filter(optionee_id__in=ids)
        if model is Termination:
            found = found.filter(reversed_at__isnull=True)
        for optionee_id, *values in found.order_by("optionee_id", *fields[:1], "pk").values_list(
            "optionee_id", *fields
        ):
            rows[key].setdefault(optionee_id, []).append(values)
    for optionee in chunk:
        yield _stakeholder(optionee, as_of, {k: v.get(optionee.pk, []) for k, v in rows.items()})


def _stakeholder(optionee: Optionee, as_of: dt.date, rows: dict[str, list]) -> dict:
    termination = next(
        (Termination(on=on, reason=r, note=n) for on, r, n in rows["terminations"] if on <= as_of),
        None,
    )
    in_service, after = RELATIONSHIPS[optionee.relationship]
    notes = [
        extensions.comment(
            "optionee",
            relationship=optionee.relationship,
            section16_insider=optionee.is_section16_insider,
        )
    ]
    if termination is not None:
        notes.append(
            extensions.comment(
                "termination",
                on=termination.on.isoformat(),
                reason=termination.reason,
                note=termination.note,
            )
        )
    if optionee.date_of_death and optionee.date_of_death <= as_of:
        notes.append(extensions.comment("death", on=optionee.date_of_death.isoformat()))
    for start, end in sorted(rows["windows"]):
        if start <= as_of:
            notes.append(
                extensions.comment("section16_window", start=start.isoformat(), end=end.isoformat())
            )
    for start, end, reason in rows["holds"]:
        if start <= as_of:
            ended = end is not None and end <= as_of
            notes.append(
                extensions.comment(
                    "hold",
                    start=start.isoformat(),
                    end=end.isoformat() if ended else None,
                    reason=reason,
                )
            )
    item = {
        "object_type": "STAKEHOLDER",
        "id": stakeholder_id(optionee.employee_id, optionee.legal_name, optionee.email),
        "name": {"legal_name": optionee.legal_name},
        "stakeholder_type": "INDIVIDUAL",
    }
    if optionee.employee_id:
        item["issuer_assigned_id"] = optionee.employee_id
    item["current_relationship"] = after if termination else in_service
    if optionee.email:
        item["contact_info"] = {
            "emails": [{"email_address": optionee.email, "email_type": "PERSONAL"}]
        }
    item["comments"] = notes
    return item


# --------------------------------------------------------------------------- transactions


GRANT_FIELDS = (
    "id",
    "number",
    "plan_id",
    "optionee_id",
    "terms_id",
    "option_type",
    "grant_date",
    "shares",
    "exercise_price",
    "term_end",
    "status",
    "forfeited_on",
    "forfeiture_reason",
    "cancellation_reason",
)
EXERCISE_FIELDS = (
    "grant_id",
    "status",
    "shares",
    "installment__vest_date",
    "exercise_date",
    "payment_method",
    "shares_withheld",
    "aggregate_price",
)


def grants_with_facts(grants, as_of: dt.date) -> Iterator[tuple[Grant, list[tuple]]]:
    """Each grant of the queryset ``grants`` (in number order) with its facts, and its
    exercises made by ``as_of`` as ``(date, shares, method, withheld, aggregate, status,
    charged installment's date)``.

    Read as flat rows a chunk of grants at a time, the way ``with_facts()`` reads facts,
    but without a model row per plan, optionee and form for each grant: those are read
    once each and shared (at 100,000 grants this halved the export's time)."""
    shared: dict[str, dict] = {"forms": {}, "plans": {}}
    chunk: list[tuple] = []
    rows = grants.order_by("number").values_list(*GRANT_FIELDS)
    for row in rows.iterator(chunk_size=CHUNK):
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield from _chunk_of_grants(chunk, as_of, shared)
            chunk = []
    yield from _chunk_of_grants(chunk, as_of, shared)


def _chunk_of_grants(chunk: list[tuple], as_of: dt.date, shared: dict):
    if not chunk:
        return
    ids = [row[0] for row in chunk]
    forms, plans = shared["forms"], shared["plans"]
    wanted = {row[4] for row in chunk} - set(forms)
    forms.update(
        (f.pk, f) for f in GrantTerms.objects.filter(pk__in=wanted).defer("agreement_text")
    )
    wanted = {row[2] for row in chunk} - set(plans)
    plans.update((p.pk, p) for p in Plan.objects.filter(pk__in=wanted).select_related("company"))
    optionees = {
        pk: Optionee(pk=pk, legal_name=name, email=email, employee_id=employee_id)
        for pk, name, email, employee_id in Optionee.objects.filter(
            pk__in={row[3] for row in chunk}
        ).values_list("pk", "legal_name", "email", "employee_id")
    }
    installments: dict[int, list[rules.Installment]] = {pk: [] for pk in ids}
    for grant_id, vest_date, shares in (
        Installment.objects.filter(grant_id__in=ids)
        .order_by("grant_id", "vest_date", "pk")
        .values_list("grant_id", "vest_date", "shares")
    ):
        installments[grant_id].append(rules.Installment(vest_date, shares))
    exercises: dict[int, list[tuple]] = {pk: [] for pk in ids}
    for grant_id, *row in (
        Exercise.objects.filter(grant_id__in=ids)
        .order_by("grant_id", "exercise_date", "pk")
        .values_list(*EXERCISE_FIELDS)
    ):
        exercises[grant_id].append(row)
    people = people_facts(set(optionees), {p.company_id for p in plans.values()})
    for row in chunk:
        grant = Grant(**dict(zip(GRANT_FIELDS, row, strict=True)))
        grant.plan, grant.terms = plans[grant.plan_id], forms[grant.terms_id]
        grant.optionee = optionees[grant.optionee_id]
        rows = exercises[grant.pk]
        grant._facts = facts_of(
            grant, installments[grant.pk], [(r[0], r[1], r[2]) for r in rows], people
        )
        made = [
            (on, shares, method, withheld, aggregate, status, charged_to)
            for status, shares, charged_to, on, method, withheld, aggregate in rows
            if status in Exercise.MADE and on <= as_of
        ]
        yield grant, made


def as_of_facts(facts: GrantFacts, as_of: dt.date) -> GrantFacts:
    """A grant's facts as they stood on ``as_of``: what took effect later is left out."""
    termination = facts.termination
    if termination is not None and termination.on > as_of:
        termination = None
    return dataclasses.replace(
        facts,
        termination=termination,
        suspensions=_periods_by(facts.suspensions, as_of),
        liability_windows=[w for w in facts.liability_windows if w.start <= as_of],
        holds=_periods_by(facts.holds, as_of),
        accelerated=facts.accelerated and termination is not None,
        forfeited_on=facts.forfeited_on
        if facts.forfeited_on and facts.forfeited_on <= as_of
        else None,
    )


def _periods_by(periods: list[rules.Period], as_of: dt.date) -> list[rules.Period]:
    return [
        rules.Period(p.start, p.end if p.end is not None and p.end <= as_of else None)
        for p in periods
        if p.start <= as_of
    ]


def _transactions(grant: Grant, exercises: list[tuple], as_of: dt.date) -> Iterator[dict]:
    n = grant.number
    facts = as_of_facts(grant.facts(), as_of)
    terms = grant.terms.as_rules()
    yield _issuance(grant, terms)
    if grant.status == Grant.Status.CANCELLED:
        on = _cancelled_on(grant)
        if on <= as_of:
            yield {
                "object_type": "TX_EQUITY_COMPENSATION_RETRACTION",
                "id": f"{n}.retraction",
                "date": on.isoformat(),
                "security_id": n,
                "reason_text": grant.cancellation_reason or "Recorded in error.",
            }
            yield _return_to_pool(grant, "retraction", on, grant.shares, "Grant recorded in error")
            return
    events: list[tuple[dt.date, int, dict]] = []
    for k, (on, shares, method, withheld, aggregate, status, charged) in enumerate(exercises, 1):
        note = {"payment_method": method, "status": status}
        if withheld:
            note["shares_withheld"] = withheld
        if charged is not None:
            note["charged_installment"] = charged.isoformat()
        events.append(
            (
                on,
                1,
                {
                    "object_type": "TX_EQUITY_COMPENSATION_EXERCISE",
                    "id": f"{n}.exercise.{k}",
                    "date": on.isoformat(),
                    "security_id": n,
                    "quantity": number(shares),
                    "consideration_text": f"{number(aggregate)} USD ({method})",
                    "resulting_security_ids": [],
                    "comments": [extensions.comment("exercise", **note)],
                },
            )
        )
    ended = _endings(grant, facts, terms, exercises, as_of)
    events.extend(ended)
    for _, _, item in sorted(events, key=lambda e: (e[0], e[1])):
        yield item


def _endings(grant, facts, terms, exercises, as_of) -> list[tuple[dt.date, int, dict]]:
    """Acceleration at termination, and the cancellations (with their return to the pool)
    of shares forfeited at termination or by forfeiture, or lapsed at expiry."""
    n, out = grant.number, []
    left = grant.shares  # neither exercised nor cancelled yet
    made_by = lambda day: sum(e[1] for e in exercises if e[0] <= day)  # noqa: E731
    termination, forfeited_on = facts.termination, facts.forfeited_on
    if termination is not None and (forfeited_on is None or termination.on < forfeited_on):
        plain = dataclasses.replace(facts, accelerated=False, forfeited_on=None)
        unvested = grant.shares - plain.vested(termination.on)
        if unvested and facts.accelerated:
            out.append(
                (
                    termination.on,
                    0,
                    {
                        "object_type": "TX_VESTING_ACCELERATION",
                        "id": f"{n}.acceleration",
                        "date": termination.on.isoformat(),
                        "security_id": n,
                        "quantity": number(unvested),
                        "reason_text": f"Every unvested share vests at termination "
                        f"({termination.reason}) under the agreement form.",
                    },
                )
            )
        elif unvested:
            out += _cancellation(
                grant,
                "termination",
                termination.on,
                unvested,
                f"Unvested shares forfeited at termination of service ({termination.reason}).",
            )
            left -= unvested
    if forfeited_on is not None:
        remaining = left - made_by(forfeited_on)
        if remaining:
            out += _cancellation(
                grant,
                "forfeiture",
                forfeited_on,
                remaining,
                grant.forfeiture_reason or "Forfeited.",
            )
        return out
    expires = grant.expiration(as_of=as_of, facts=facts).on
    remaining = left - made_by(expires)
    if expires < as_of and remaining > 0:
        out += _cancellation(
            grant,
            "expiry",
            expires,
            remaining,
            f"Expired unexercised at the close of business on {expires:%Y-%m-%d}.",
        )
    return out


def _cancellation(grant, cause: str, on: dt.date, shares: int, why: str):
    n = grant.number
    return [
        (
            on,
            2,
            {
                "object_type": "TX_EQUITY_COMPENSATION_CANCELLATION",
                "id": f"{n}.cancellation.{cause}",
                "date": on.isoformat(),
                "security_id": n,
                "quantity": number(shares),
                "reason_text": why,
                "comments": [extensions.comment("cancellation", cause=cause)],
            },
        ),
        (on, 3, _return_to_pool(grant, cause, on, shares, why)),
    ]


def _return_to_pool(grant, cause: str, on: dt.date, shares: int, why: str) -> dict:
    return {
        "object_type": "TX_STOCK_PLAN_RETURN_TO_POOL",
        "id": f"{grant.number}.return.{cause}",
        "date": on.isoformat(),
        "security_id": grant.number,
        "stock_plan_id": plan_id(grant.plan.name),
        "quantity": number(shares),
        "reason_text": why,
    }


def _cancelled_on(grant: Grant) -> dt.date:
    """The day a grant was cancelled as recorded in error, from its history."""
    row = (
        grant.history.filter(status=Grant.Status.CANCELLED)
        .order_by("history_date", "history_id")
        .values_list("history_date", flat=True)
        .first()
    )
    if row is None:
        return grant.grant_date
    return row.astimezone(ZoneInfo(grant.company.time_zone)).date()


def _issuance(grant: Grant, terms: rules.Terms) -> dict:
    order = {reason: i for i, reason in enumerate(agreement_forms.EXPORT_ORDER)}
    windows = sorted(terms.windows, key=lambda w: order[w.reason])
    return {
        "object_type": "TX_EQUITY_COMPENSATION_ISSUANCE",
        "id": f"{grant.number}.issuance",
        "date": grant.grant_date.isoformat(),
        "security_id": grant.number,
        "custom_id": grant.number,
        "stakeholder_id": stakeholder_id(
            grant.optionee.employee_id, grant.optionee.legal_name, grant.optionee.email
        ),
        "stock_plan_id": plan_id(grant.plan.name),
        "stock_class_id": STOCK_CLASS_ID,
        "compensation_type": "OPTION_ISO" if grant.option_type == Grant.Type.ISO else "OPTION_NSO",
        "quantity": number(grant.shares),
        "exercise_price": {"amount": number(grant.exercise_price), "currency": "USD"},
        "expiration_date": grant.term_end.isoformat(),
        "termination_exercise_windows": [
            {"reason": w.reason, "period": w.period, "period_type": w.period_type} for w in windows
        ],
        "vestings": [
            {"date": i.vest_date.isoformat(), "amount": number(i.shares)}
            for i in grant.facts().installments
        ],
        "security_law_exemptions": [],
        "comments": [extensions.comment("grant", agreement_form=grant.terms.name)],
    }
