"""Reading an OCF v1.2.0 package into the book (``manage.py import_ocf``), all or nothing.

Three passes, and nothing is written unless all pass: every file against the schemas
(``validation.validate_package``), every reference between objects, then the rules of
this product as the rows are written inside one transaction (the schedule adds up, the
plan reserve holds, each exercise fits what was exercisable on its date); any problem
rolls the whole import back. Options only: other securities are counted in the summary
as not imported. The mapping is in ``docs/ocf.md``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from grants import agreement_forms, rules
from grants.models import (
    Company,
    Exercise,
    ExerciseHold,
    Grant,
    GrantTerms,
    Holiday,
    Optionee,
    Plan,
    RegistrationSuspension,
    Section16Window,
)
from grants.ocf import export, extensions, vesting
from grants.ocf.export import number
from grants.ocf.validation import validate_package

OPTIONS = {"OPTION", "OPTION_NSO", "OPTION_ISO"}
OPTION_EVENTS = {
    "TX_EQUITY_COMPENSATION_EXERCISE",
    "TX_EQUITY_COMPENSATION_CANCELLATION",
    "TX_EQUITY_COMPENSATION_RETRACTION",
    "TX_VESTING_ACCELERATION",
    "TX_STOCK_PLAN_RETURN_TO_POOL",
    "TX_VESTING_START",
    "TX_VESTING_EVENT",
}
FROM_OCF_RELATIONSHIP = {
    "EMPLOYEE": Optionee.Relationship.EMPLOYEE,
    "EX_EMPLOYEE": Optionee.Relationship.EMPLOYEE,
    "NON_US_EMPLOYEE": Optionee.Relationship.EMPLOYEE,
    "OFFICER": Optionee.Relationship.OFFICER,
    "EXECUTIVE": Optionee.Relationship.OFFICER,
    "FOUNDER": Optionee.Relationship.OFFICER,
    "BOARD_MEMBER": Optionee.Relationship.DIRECTOR,
    "CONSULTANT": Optionee.Relationship.CONSULTANT,
    "EX_CONSULTANT": Optionee.Relationship.CONSULTANT,
    "ADVISOR": Optionee.Relationship.CONSULTANT,
    "EX_ADVISOR": Optionee.Relationship.CONSULTANT,
}
# Words of a cancellation's reason_text that say why service ended (packages without our
# extension comments): the first that matches gives OCF's termination reason.
REASON_WORDS = [
    (("death", "died", "deceased"), rules.INVOLUNTARY_DEATH),
    (("disabil",), rules.INVOLUNTARY_DISABILITY),
    (("retire",), rules.VOLUNTARY_RETIREMENT),
    (("for cause", "with cause", "misconduct"), rules.INVOLUNTARY_WITH_CAUSE),
    (("good reason", "good cause"), rules.VOLUNTARY_GOOD_CAUSE),
    (("resign", "voluntar"), rules.VOLUNTARY_OTHER),
    (("terminat", "separat", "left the company", "service ended"), rules.INVOLUNTARY_OTHER),
]
# A form states all seven windows; for a reason a package leaves out, this one is used
# (and the summary says so, for the administrator to check).
FALLBACK = {
    rules.VOLUNTARY_OTHER: (rules.INVOLUNTARY_OTHER,),
    rules.VOLUNTARY_GOOD_CAUSE: (rules.VOLUNTARY_OTHER, rules.INVOLUNTARY_OTHER),
    rules.VOLUNTARY_RETIREMENT: (rules.VOLUNTARY_OTHER, rules.INVOLUNTARY_OTHER),
    rules.INVOLUNTARY_OTHER: (rules.VOLUNTARY_OTHER,),
    rules.INVOLUNTARY_WITH_CAUSE: (rules.INVOLUNTARY_OTHER, rules.VOLUNTARY_OTHER),
    rules.INVOLUNTARY_DISABILITY: (rules.INVOLUNTARY_OTHER, rules.VOLUNTARY_OTHER),
    rules.INVOLUNTARY_DEATH: (rules.INVOLUNTARY_OTHER, rules.VOLUNTARY_OTHER),
}


class ImportRefused(ValidationError):
    """The package was refused; ``messages`` lists every problem, each naming its file,
    object and JSON path where it has them."""


@dataclass
class ImportSummary:
    company: str
    created: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    not_imported: Counter = field(default_factory=Counter)
    new_forms: list[str] = field(default_factory=list)
    assumed_windows: dict[str, list[str]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"OCF package imported into “{self.company}”."]
        for heading, counts in (
            ("created", self.created),
            ("already in the book, unchanged", self.unchanged),
            ("not imported (not an option)", self.not_imported),
        ):
            for name, count in sorted(counts.items()):
                if count:
                    out.append(f"  {heading}: {count:,} {name}")
        for name in self.new_forms:
            out.append(
                f"  new agreement form “{name}”: complete its minimum exercise, tolling, "
                f"Section 16(b) and agreement text in the back office"
            )
            if self.assumed_windows.get(name):
                out.append(
                    f"    windows the package does not state, taken from another reason: "
                    f"{', '.join(self.assumed_windows[name])}"
                )
        return out


@dataclass
class _Package:
    manifest: dict
    objects: dict[str, list[tuple[str, int, dict]]]  # file key -> (file name, index, item)

    def items(self, key: str):
        return self.objects.get(key, [])


def import_package(
    directory: str | Path, company_name: str | None = None, today: dt.date | None = None
) -> ImportSummary:
    """Read the package in ``directory`` into the company of its issuer (or
    ``company_name``). Raises ``ImportRefused`` with every problem, writing nothing."""
    errors = validate_package(directory)
    if errors:
        raise ImportRefused([str(e) for e in errors])
    package = _load(Path(directory))
    index = _check_references(package)
    try:
        with transaction.atomic():
            return _Writer(package, index, company_name, today).run()
    except ValidationError as error:
        raise ImportRefused(error.messages) from None


def _load(directory: Path) -> _Package:
    if directory.is_file():
        manifest_path = directory
    else:
        manifest_path = next(
            p
            for p in sorted(directory.glob("*.json"))
            if json.loads(p.read_bytes()).get("file_type") == "OCF_MANIFEST_FILE"
        )
    manifest = json.loads(manifest_path.read_bytes())
    objects: dict[str, list] = {}
    for key, files in manifest.items():
        if not key.endswith("_files"):
            continue
        for entry in files:
            path = manifest_path.parent / entry["filepath"]
            data = json.loads(path.read_bytes())
            objects.setdefault(key, []).extend(
                (entry["filepath"], i, item) for i, item in enumerate(data["items"])
            )
    return _Package(manifest, objects)


@dataclass
class _Index:
    stakeholders: dict[str, dict]
    plans: dict[str, dict]
    classes: dict[str, dict]
    vesting_terms: dict[str, dict]
    issuances: dict[str, tuple[str, int, dict]]  # security id -> where and the item
    events: dict[str, list[tuple[str, int, dict]]]  # security id -> its transactions
    adjustments: dict[str, list[dict]]  # plan id -> pool adjustments
    others: Counter


def _where(file: str, i: int, item: dict) -> str:
    return f"{file}, object {item.get('id')!r}, items[{i}]"


def _check_references(package: _Package) -> _Index:
    """Every id a transaction names must be an object of the package."""
    problems = []
    by_id = lambda key: {item["id"]: item for _, _, item in package.items(key)}  # noqa: E731
    index = _Index(
        stakeholders=by_id("stakeholders_files"),
        plans=by_id("stock_plans_files"),
        classes=by_id("stock_classes_files"),
        vesting_terms=by_id("vesting_terms_files"),
        issuances={},
        events=defaultdict(list),
        adjustments=defaultdict(list),
        others=Counter(),
    )
    securities: set[str] = set()
    for file, i, item in package.items("transactions_files"):
        if "security_id" in item and item["object_type"].endswith("_ISSUANCE"):
            securities.add(item["security_id"])
            if item["object_type"] != "TX_EQUITY_COMPENSATION_ISSUANCE":
                continue
            if item["compensation_type"] not in OPTIONS:
                continue
            where = _where(file, i, item)
            for key, known, what in (
                ("stakeholder_id", index.stakeholders, "stakeholder"),
                ("stock_plan_id", index.plans, "stock plan"),
                ("stock_class_id", index.classes, "stock class"),
                ("vesting_terms_id", index.vesting_terms, "vesting terms"),
            ):
                if item.get(key) is not None and item[key] not in known:
                    problems.append(f"{where}.{key}: no {what} has the id {item[key]!r}.")
            if item["security_id"] in index.issuances:
                problems.append(f"{where}.security_id: {item['security_id']!r} is issued twice.")
            index.issuances[item["security_id"]] = (file, i, item)
    for file, i, item in package.items("transactions_files"):
        kind, where = item["object_type"], _where(file, i, item)
        if kind == "TX_STOCK_PLAN_POOL_ADJUSTMENT":
            if item["stock_plan_id"] not in index.plans:
                problems.append(
                    f"{where}.stock_plan_id: no stock plan has the id {item['stock_plan_id']!r}."
                )
            index.adjustments[item["stock_plan_id"]].append(item)
        elif kind in OPTION_EVENTS and item.get("security_id") in index.issuances:
            plan = item.get("stock_plan_id")
            if plan is not None and plan not in index.plans:
                problems.append(f"{where}.stock_plan_id: no stock plan has the id {plan!r}.")
            index.events[item["security_id"]].append((file, i, item))
        elif (
            kind in OPTION_EVENTS
            and item.get("security_id") is not None
            and (item["security_id"] not in securities)
        ):
            problems.append(
                f"{where}.security_id: no issuance in the package has the security id "
                f"{item.get('security_id')!r}."
            )
        elif (
            kind != "TX_EQUITY_COMPENSATION_ISSUANCE" or item["security_id"] not in index.issuances
        ):
            index.others[kind] += 1
    for plan_id in index.plans:
        index.adjustments[plan_id].sort(key=lambda a: a["date"])
    if problems:
        raise ImportRefused(problems)
    return index


class _Writer:
    """Writes the package's rows inside the caller's transaction; raises on any problem."""

    def __init__(self, package: _Package, index: _Index, company_name, today):
        self.package, self.index = package, index
        self.issuer = package.manifest["issuer"]
        self.summary = ImportSummary(company_name or self.issuer["legal_name"])
        self.company_name, self.today = company_name, today
        self.problems: list[str] = []
        self.windows_of: list[tuple[dict, GrantTerms]] | None = None

    def fail(self, message: str) -> None:
        self.problems.append(message)

    def run(self) -> ImportSummary:
        self.company = self._company()
        self.today = self.today or self.company.today()
        self.summary.not_imported.update(self.index.others)
        self.forms = self._forms()
        self.plans = {pid: self._plan(pid, item) for pid, item in self.index.plans.items()}
        self.optionees = {
            sid: self._optionee(sid, item) for sid, item in self.index.stakeholders.items()
        }
        self._check()
        grants = self._grants()
        self._check()
        self._terminations()
        self._check()
        for grant in grants:
            self._events(grant)
        self._check()
        for grant in grants:
            self._settle(grant)
        return self.summary

    def _check(self) -> None:
        if self.problems:
            raise ValidationError(self.problems)

    # -- the company, its forms and plans

    def _company(self) -> Company:
        notes = extensions.read(self.issuer.get("comments"))
        settings = (notes.get("company") or [{}])[0]
        company = Company.objects.filter(name=self.summary.company).first()
        if company is None:
            company = Company(
                name=self.summary.company,
                formation_date=dt.date.fromisoformat(self.issuer["formation_date"]),
                country_of_formation=self.issuer["country_of_formation"],
                country_subdivision_of_formation=self.issuer.get(
                    "country_subdivision_of_formation", ""
                ),
            )
            for name in (
                "time_zone",
                "business_days",
                "holiday_calendar",
                "secretary",
                "address",
                "expiry_warning_days",
            ):
                if name in settings:
                    setattr(company, name, settings[name])
            for name in ("opens_at", "closes_at"):
                if name in settings:
                    setattr(company, name, dt.time.fromisoformat(settings[name]))
            company.full_clean()
            company.save()
            self.summary.created["companies"] += 1
        elif company.formation_date is None:
            company.formation_date = dt.date.fromisoformat(self.issuer["formation_date"])
            company.save(update_fields=["formation_date"])
        for row in notes.get("holiday", []):
            _, made = Holiday.objects.get_or_create(
                company=company,
                date=dt.date.fromisoformat(row["date"]),
                defaults={"name": row["name"], "closed": row["closed"]},
            )
            self.summary.created["holidays"] += made
        for row in notes.get("registration_suspension", []):
            start, end = _date(row["start"]), _date(row.get("end"))
            _, made = RegistrationSuspension.objects.get_or_create(
                company=company, start=start, end=end, defaults={"note": row.get("note", "")}
            )
            self.summary.created["registration suspensions"] += made
        return company

    def _forms(self) -> dict[str, GrantTerms]:
        forms = {}
        notes = extensions.read(self.issuer.get("comments"))
        for row in notes.get("agreement_form", []):
            try:
                parsed = agreement_forms.read(json.dumps(row["form"]))
                form, outcome = agreement_forms.save(parsed, today=self.today)
            except ValidationError as error:
                self.fail(f"issuer comments, agreement form: {' '.join(error.messages)}")
                continue
            forms[form.name] = form
            (self.summary.created if outcome == "created" else self.summary.unchanged)[
                "agreement forms"
            ] += 1
        return forms

    def _plan(self, plan_id: str, item: dict) -> Plan:
        reserve = int(Decimal(item["initial_shares_reserved"]))
        for adjustment in self.index.adjustments.get(plan_id, []):
            reserve = int(Decimal(adjustment["shares_reserved"]))
        note = extensions.one(item.get("comments"), "plan") or {}
        plan = Plan.objects.filter(company=self.company, name=item["plan_name"]).first()
        if plan is None:
            plan = Plan.objects.create(
                company=self.company,
                name=item["plan_name"],
                share_reserve=reserve,
                max_term_years=note.get("max_term_years", 10),
            )
            self.summary.created["stock plans"] += 1
        elif plan.share_reserve != reserve:
            self.fail(
                f"stock plan {plan_id!r}: the plan “{plan.name}” is in the book with a "
                f"reserve of {plan.share_reserve:,} shares, the package says {reserve:,}. "
                f"Change the reserve in the back office first if the package is right."
            )
        else:
            self.summary.unchanged["stock plans"] += 1
        return plan

    def _optionee(self, stakeholder_id: str, item: dict) -> Optionee:
        note = extensions.one(item.get("comments"), "optionee") or {}
        employee_id = item.get("issuer_assigned_id", "")
        name = item["name"]["legal_name"]
        emails = (item.get("contact_info") or {}).get("emails") or []
        email = emails[0]["email_address"] if emails else ""
        found = Optionee.objects.filter(company=self.company)
        found = (
            found.filter(employee_id=employee_id)
            if employee_id
            else found.filter(employee_id="", legal_name=name, email=email)
        )
        optionee = found.first()
        if optionee is not None:
            self.summary.unchanged["stakeholders"] += 1
            return optionee
        relationship = note.get("relationship") or FROM_OCF_RELATIONSHIP.get(
            item.get("current_relationship"), Optionee.Relationship.EMPLOYEE
        )
        optionee = Optionee(
            company=self.company,
            legal_name=name,
            email=email,
            employee_id=employee_id,
            relationship=relationship,
            is_section16_insider=bool(note.get("section16_insider")),
        )
        try:
            optionee.full_clean(exclude=["user"])
        except ValidationError as error:
            self.fail(f"stakeholder {stakeholder_id!r}: {' '.join(error.messages)}")
            return optionee
        optionee.save()
        self.summary.created["stakeholders"] += 1
        notes = extensions.read(item.get("comments"))
        for row in notes.get("section16_window", []):
            Section16Window.objects.create(
                optionee=optionee, start=_date(row["start"]), end=_date(row["end"])
            )
        for row in notes.get("hold", []):
            ExerciseHold.objects.create(
                optionee=optionee,
                start=_date(row["start"]),
                end=_date(row.get("end")),
                reason=row.get("reason") or "Imported",
            )
        return optionee

    # -- the grants

    def _grants(self) -> list[Grant]:
        from grants.services.granting import create_many

        specs, wheres, existing = [], [], []
        self.security_of = {}
        for security_id, (file, i, item) in self.index.issuances.items():
            where = _where(file, i, item)
            if item["custom_id"] in self.security_of:
                self.fail(f"{where}.custom_id: {item['custom_id']!r} names two options.")
            self.security_of[item["custom_id"]] = security_id
            grant = Grant.objects.filter(number=item["custom_id"]).first()
            if grant is not None:
                self._same_grant(grant, item, where)
                existing.append(grant)
                continue
            spec = self._spec(security_id, item, where)
            if spec is not None:
                specs.append(spec)
                wheres.append(where)
        self._check()
        created = []
        for outcome, where in zip(create_many(specs), wheres, strict=True):
            if isinstance(outcome, ValidationError):
                self.fail(f"{where}: {' '.join(outcome.messages)}")
            else:
                created.append(outcome)
        self.summary.created["option grants"] += len(created)
        self.summary.unchanged["option grants"] += len(existing)
        self.new = {g.number for g in created}
        return created + existing

    def _spec(self, security_id: str, item: dict, where: str) -> dict | None:
        if item.get("expiration_date") is None:
            self.fail(f"{where}.expiration_date: an option needs the day its term ends.")
            return None
        if item.get("stock_plan_id") is None:
            self.fail(f"{where}.stock_plan_id: name the stock plan the option is granted under.")
            return None
        try:
            installments = vesting.installments(item, self.index, security_id)
        except ValueError as error:
            self.fail(f"{where}: {error}")
            return None
        if extensions.one(item.get("comments"), "grant") is None:
            accelerations = [
                (_date(e["date"]), int(Decimal(e["quantity"])))
                for _, _, e in self.index.events.get(security_id, [])
                if e["object_type"] == "TX_VESTING_ACCELERATION"
            ]
            try:
                installments = vesting.accelerated(installments, accelerations)
            except ValueError as error:
                self.fail(f"{where}: {error}")
                return None
        shares = int(Decimal(item["quantity"]))
        if sum(s for _, s in installments) != shares:
            self.fail(
                f"{where}.vestings: the schedule vests {sum(s for _, s in installments):,} "
                f"shares, the option is for {shares:,}."
            )
            return None
        return {
            "number": item["custom_id"],
            "plan": self.plans[item["stock_plan_id"]],
            "optionee": self.optionees[item["stakeholder_id"]],
            "grant_date": _date(item["date"]),
            "shares": shares,
            "exercise_price": Decimal(item["exercise_price"]["amount"]),
            "term_end": _date(item["expiration_date"]),
            "installments": installments,
            "option_type": Grant.Type.ISO
            if item["compensation_type"] == "OPTION_ISO"
            else Grant.Type.NSO,
            "grant_terms": self._form_for(item),
            # Granted in the other system: the price was approved there.
            "discount_confirmed": True,
        }

    def _same_grant(self, grant: Grant, item: dict, where: str) -> None:
        ours = (
            grant.optionee.company_id,
            grant.grant_date.isoformat(),
            number(grant.shares),
            Decimal(grant.exercise_price),
            grant.term_end.isoformat(),
        )
        theirs = (
            self.company.pk,
            item["date"],
            number(int(Decimal(item["quantity"]))),
            Decimal(item["exercise_price"]["amount"]),
            item["expiration_date"],
        )
        if ours != theirs:
            self.fail(
                f"{where}: grant {grant.number} is already in the book with other terms "
                f"(grant date, shares, price or end of term); correct one or the other."
            )
            return
        as_of = _date(self.package.manifest["as_of"])
        [(_, made)] = list(export.grants_with_facts(Grant.objects.filter(pk=grant.pk), as_of))
        book = Counter(_event_key(e) for e in export._transactions(grant, made, as_of))
        package = Counter(
            _event_key(e) for _, _, e in self.index.events.get(item["security_id"], [])
        )
        book.pop(None, None)
        package.pop(None, None)
        if book != package:
            differ = sorted((book - package) + (package - book))
            self.fail(
                f"{where}: grant {grant.number} is already in the book, and what happened to "
                f"it there differs from the package ({', '.join(' '.join(k) for k in differ)}). "
                f"Correct the book or the package; nothing was imported."
            )

    def _form_for(self, item: dict) -> GrantTerms:
        note = extensions.one(item.get("comments"), "grant") or {}
        name = note.get("agreement_form")
        if name:
            form = self.forms.get(name) or GrantTerms.objects.filter(name=name).first()
            if form is not None:
                return form
        windows = {
            w["reason"]: (w["period"], w["period_type"])
            for w in item["termination_exercise_windows"]
        }
        assumed = []
        for reason, fallbacks in FALLBACK.items():
            if reason not in windows:
                source = next((f for f in fallbacks if f in windows), None)
                if source is None and windows:
                    source = sorted(windows)[0]
                if source is not None:
                    windows[reason] = windows[source]
                    assumed.append(f"{reason} (as {source})")
        if self.windows_of is None:  # every form's windows, read once per import
            self.windows_of = [
                ({w.reason: (w.period, w.period_type) for w in f.as_rules().windows}, f)
                for f in GrantTerms.objects.order_by("name").defer("agreement_text")
            ]
        for stated, form in self.windows_of:
            if stated == windows:
                return form
        prefix = (
            item["custom_id"].rsplit("-", 1)[0] if "-" in item["custom_id"] else item["custom_id"]
        )
        name = f"{prefix} (imported from OCF)"
        suffix = 1
        while GrantTerms.objects.filter(name=name).exists():
            suffix += 1
            name = f"{prefix} (imported from OCF, {suffix})"
        document = {
            "name": name,
            "termination_exercise_windows": [
                {"reason": r, "period": p, "period_type": t}
                for r, (p, t) in sorted(windows.items())
            ],
        }
        try:
            form, _ = agreement_forms.save(
                agreement_forms.read(json.dumps(document)), today=self.today
            )
        except ValidationError as error:
            raise ValidationError(
                f"issuance {item['id']!r}.termination_exercise_windows: {' '.join(error.messages)}"
            ) from None
        self.windows_of.append((windows, form))
        self.summary.created["agreement forms"] += 1
        self.summary.new_forms.append(name)
        if assumed:
            self.summary.assumed_windows[name] = assumed
        return form

    # -- what happened to them

    def _terminations(self) -> None:
        """Each stakeholder's termination, from our comment or, in a package without
        them, from a cancellation whose reason says service ended."""
        stated = {}
        for sid, item in self.index.stakeholders.items():
            note = extensions.one(item.get("comments"), "termination")
            if note is not None:
                stated[sid] = (_date(note["on"]), note["reason"], note.get("note", ""))
        for security_id, events in self.index.events.items():
            sid = self.index.issuances[security_id][2]["stakeholder_id"]
            if sid in stated or extensions.one(
                self.index.stakeholders[sid].get("comments"), "optionee"
            ):
                continue
            for _, _, event in events:
                if event["object_type"] not in (
                    "TX_EQUITY_COMPENSATION_CANCELLATION",
                    "TX_VESTING_ACCELERATION",
                ):
                    continue
                reason = _reason_in(event.get("reason_text", ""))
                if reason is not None:
                    stated.setdefault(sid, (_date(event["date"]), reason, "Imported from OCF"))
        for sid, (on, reason, note) in stated.items():
            optionee = self.optionees[sid]
            standing = optionee.active_termination()
            if standing is not None:
                if (standing.on, standing.reason) != (on, reason):
                    self.fail(
                        f"stakeholder {sid!r}: {optionee.legal_name}'s service ended on "
                        f"{standing.on:%Y-%m-%d} ({standing.reason}) in the book; the package "
                        f"says {on:%Y-%m-%d} ({reason})."
                    )
                continue
            try:
                optionee.terminate(on, reason, note=note)
            except ValidationError as error:
                self.fail(f"stakeholder {sid!r}: {' '.join(error.messages)}")
                continue
            self.summary.created["terminations"] += 1
            death = extensions.one(self.index.stakeholders[sid].get("comments"), "death")
            if death and _date(death["on"]) != on:
                optionee.record_death(_date(death["on"]))

    def _events(self, grant: Grant) -> None:
        if grant.number not in self.new:
            return
        security_id = self.security_of[grant.number]
        for file, i, event in sorted(
            self.index.events.get(security_id, []), key=lambda e: (e[2]["date"], e[1])
        ):
            where, kind = _where(file, i, event), event["object_type"]
            on = _date(event["date"])
            if kind == "TX_EQUITY_COMPENSATION_EXERCISE":
                self._exercise(grant, event, on, where)
            elif kind == "TX_EQUITY_COMPENSATION_RETRACTION":
                grant.cancel(event.get("reason_text") or "Retracted (OCF)")
                grant.refresh_from_db()
            elif kind == "TX_EQUITY_COMPENSATION_CANCELLATION":
                self._cancellation(grant, event, on, where)
            elif kind == "TX_VESTING_ACCELERATION" and self._ours(security_id):
                # Ours follow from the form; another system's are in the schedule already.
                grant.refresh_from_db()
                if not grant.facts().accelerated:
                    self.fail(
                        f"{where}: the book accelerates vesting only as an agreement form says "
                        f"for a termination reason, and grant {grant.number}'s form does not "
                        f"for this one; set vesting_on_termination in its form first."
                    )
            # Returns to the pool, vesting starts and vesting events are read with the
            # cancellations and the schedule they belong to.

    def _ours(self, security_id: str) -> bool:
        """Whether the issuance was written by this product (it names its form)."""
        issuance = self.index.issuances[security_id][2]
        return extensions.one(issuance.get("comments"), "grant") is not None

    def _exercise(self, grant: Grant, event: dict, on: dt.date, where: str) -> None:
        shares = int(Decimal(event["quantity"]))
        grant.refresh_from_db()
        grant.__dict__.pop("_facts", None)
        room = grant.exercisable_shares(on)
        if shares > room:
            self.fail(
                f"{where}.quantity: {shares:,} shares exercised on {on:%Y-%m-%d}, but only "
                f"{room:,} of grant {grant.number} were exercisable that day."
            )
            return
        note = extensions.one(event.get("comments"), "exercise") or {}
        charged = note.get("charged_installment")
        Exercise.objects.create(
            grant=grant,
            shares=shares,
            exercise_date=on,
            payment_method=note.get("payment_method", Exercise.PaymentMethod.CASH),
            price_per_share=grant.exercise_price,
            shares_withheld=note.get("shares_withheld", 0),
            aggregate_price=(grant.exercise_price * shares).quantize(
                Decimal("0.01"), ROUND_HALF_UP
            ),
            status=note.get("status", Exercise.Status.ISSUED),
            installment=grant.installments.filter(vest_date=_date(charged)).first()
            if charged
            else None,
        )
        self.summary.created["exercises"] += 1

    def _cancellation(self, grant: Grant, event: dict, on: dt.date, where: str) -> None:
        note = extensions.one(event.get("comments"), "cancellation") or {}
        cause = note.get("cause")
        grant.refresh_from_db()
        grant.__dict__.pop("_facts", None)
        facts = grant.facts()
        termination = facts.termination
        if cause == "termination" or (
            cause is None and termination is not None and termination.on == on
        ):
            if termination is None or termination.on != on:
                self.fail(f"{where}: shares cancelled at a termination the package does not state.")
                return
            unvested = grant.shares - facts.vested(on)
            if int(Decimal(event["quantity"])) != unvested:
                self.fail(
                    f"{where}.quantity: {event['quantity']} shares cancelled at the termination "
                    f"on {on:%Y-%m-%d}, but {unvested:,} of grant {grant.number} were unvested "
                    f"then under its schedule."
                )
            return
        expires = grant.expiration(as_of=self.today, facts=facts).on
        if cause == "expiry" or (cause is None and on >= expires):
            return
        left = grant.shares - facts.made - facts.forfeited
        if int(Decimal(event["quantity"])) != left:
            self.fail(
                f"{where}.quantity: a cancellation of part of an option ({event['quantity']} of "
                f"the {left:,} shares left) before it ends, other than at a termination, has no "
                f"equivalent here; record the termination, or cancel the whole remainder."
            )
            return
        try:
            grant.forfeit(on, event.get("reason_text") or "Forfeited (OCF)", tell=False)
        except ValidationError as error:
            self.fail(f"{where}: {' '.join(error.messages)}")

    def _settle(self, grant: Grant) -> None:
        """Store the derived fields; a grant whose last day has passed is stored as
        expired, as the nightly job would, without a notice (it ended in the other
        system)."""
        if grant.number not in self.new:
            return
        grant.refresh_from_db()
        grant.__dict__.pop("_facts", None)
        facts = grant.facts()
        changed = set(grant.derive(facts, self.today))
        expired = grant.status_on(self.today) == Grant.Status.EXPIRED
        if expired and grant.status != Grant.Status.EXPIRED:
            grant.status = Grant.Status.EXPIRED
            changed |= {"status", *grant.derive(facts, self.today)}
        if changed:
            grant.save(update_fields=sorted(changed))


def _event_key(event: dict) -> tuple[str, str, str] | None:
    """What an exercise, cancellation, retraction or acceleration says, without its ids."""
    if event["object_type"] not in (
        "TX_EQUITY_COMPENSATION_EXERCISE",
        "TX_EQUITY_COMPENSATION_CANCELLATION",
        "TX_EQUITY_COMPENSATION_RETRACTION",
        "TX_VESTING_ACCELERATION",
    ):
        return None
    quantity = event.get("quantity")
    return (event["object_type"], event["date"], number(Decimal(quantity)) if quantity else "")


def _date(text: str | None) -> dt.date | None:
    return None if text is None else dt.date.fromisoformat(text)


def _reason_in(text: str) -> str | None:
    lowered = text.lower()
    for words, reason in REASON_WORDS:
        if any(word in lowered for word in words):
            return reason
    return None
