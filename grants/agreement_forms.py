"""Agreement forms as files: the JSON of DOMAIN.md read into a form, all or nothing with
every error naming its key, and a form written back so that importing it changes nothing.

The file speaks the Open Cap Format's vocabulary (``TerminationWindowType`` reasons,
``PeriodType`` units); ``GrantTerms`` keeps the same facts for the rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from grants import rules
from grants.models import GrantTerms

# The project's copy of the seed agreement's form, loaded by ``load_demo`` and the fixture.
SEED_FORM_FILE = Path(__file__).resolve().parent / "fixtures" / "valence-2005-nso.json"

KEYS = (
    "name",
    "minimum_exercise",
    "small_installment_exception",
    "final_exercise_exception",
    "termination_exercise_windows",
    "vesting_on_termination",
    "registration_tolling",
    "section16_extension",
    "payment_methods",
    "mail_notice_days",
    "agreement_text",
)
SECTION16_KEYS = ("reasons", "days_after_liability", "cap_months", "cap_days")
# A form must state these. Any other key left out says the agreement has no such term, and
# takes the value that means so (never the seed's): no minimum exercise (1 share) and no
# exceptions to it, no acceleration, no tolling, no Section 16(b) extension, payment by
# cash or check, notices effective on the day given, no text.
REQUIRED = ("name", "termination_exercise_windows")
ABSENT = {
    "minimum_exercise": 1,
    "small_installment_exception": False,
    "final_exercise_exception": False,
    "vesting_on_termination": {},
    "registration_tolling": [],
    "section16_extension": None,
    "payment_methods": [rules.PAYMENT_CASH, rules.PAYMENT_CHECK],
    "mail_notice_days": 0,
    "agreement_text": "",
}


@dataclass(frozen=True)
class ParsedForm:
    name: str
    terms: rules.Terms
    agreement_text: str


def read(data: bytes | str) -> ParsedForm:
    """Read a form file; raises a ValidationError listing every problem, each naming its
    key (``termination_exercise_windows[2].period: ...``)."""
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise ValidationError(f"The file is not JSON: {error}.", code="not_json") from None
    if not isinstance(document, dict):
        raise ValidationError("The file must hold one JSON object: the form.", code="not_object")
    errors: list[str] = []

    def problem(key: str, message: str) -> None:
        errors.append(f"{key}: {message}")

    for key in document:
        if key not in KEYS:
            problem(key, f"unknown key; the keys of a form are {', '.join(KEYS)}")
    for key in REQUIRED:
        if key not in document:
            problem(key, "missing; a form states its name and the window of every reason")

    document = {**ABSENT, **document}
    name = document.get("name")
    if "name" in document and (not isinstance(name, str) or not name.strip()):
        problem("name", "give the form's name as text")
    minimum = _whole(document, "minimum_exercise", 1, problem)
    mail_days = _whole(document, "mail_notice_days", 0, problem)
    switches = {}
    for key in ("small_installment_exception", "final_exercise_exception"):
        if key in document and not isinstance(document[key], bool):
            problem(key, "true or false")
        switches[key] = document.get(key) is True

    windows = _windows(document.get("termination_exercise_windows"), problem)
    accelerate = _accelerating(document.get("vesting_on_termination"), problem)
    tolling = _reasons(
        document, "registration_tolling", document.get("registration_tolling"), problem
    )
    section16 = document.get("section16_extension")
    s16_reasons, s16_numbers = set(), {"days_after_liability": 0, "cap_months": 0, "cap_days": 0}
    if section16 == []:  # "may be empty ([], null)": no extension
        section16 = None
    if "section16_extension" in document and section16 is not None:
        if not isinstance(section16, dict):
            problem(
                "section16_extension",
                "an object with reasons, days_after_liability, cap_months and cap_days, or null",
            )
        else:
            for key in section16:
                if key not in SECTION16_KEYS:
                    problem(f"section16_extension.{key}", "unknown key")
            for key in SECTION16_KEYS:
                if key not in section16:
                    problem(f"section16_extension.{key}", "missing")
            s16_reasons = _reasons(
                section16, "section16_extension.reasons", section16.get("reasons"), problem
            )
            for key in ("days_after_liability", "cap_months", "cap_days"):
                value = _whole(section16, key, 0, problem, prefix="section16_extension.")
                s16_numbers[key] = value or 0
    methods = document.get("payment_methods")
    if "payment_methods" in document:
        if not isinstance(methods, list) or not methods:
            problem(
                "payment_methods", f"a list of one or more of {', '.join(rules.PAYMENT_METHODS)}"
            )
            methods = []
        else:
            for i, method in enumerate(methods):
                if method not in rules.PAYMENT_METHODS:
                    problem(
                        f"payment_methods[{i}]",
                        f"“{method}” is not one of {', '.join(rules.PAYMENT_METHODS)}",
                    )
            if len(set(map(str, methods))) != len(methods):
                problem("payment_methods", "a method is listed twice")
    text = document.get("agreement_text")
    text = "" if text is None else text
    if "agreement_text" in document and not isinstance(text, str):
        problem("agreement_text", "the agreement's text, as text")
    if errors:
        raise ValidationError(errors, code="bad_form")
    terms = rules.Terms(
        minimum_exercise=minimum,
        small_installment_exception=switches["small_installment_exception"],
        final_exercise_exception=switches["final_exercise_exception"],
        windows=tuple(
            rules.Window(
                reason,
                period,
                unit,
                vesting=rules.ACCELERATE_ALL if reason in accelerate else rules.STOP,
                tolling=reason in tolling,
                section16=reason in s16_reasons,
            )
            for reason, (period, unit) in sorted(
                windows.items(), key=lambda item: rules.TERMINATION_REASONS.index(item[0])
            )
        ),
        section16_days_after_liability=s16_numbers["days_after_liability"],
        section16_cap_months=s16_numbers["cap_months"],
        section16_cap_days=s16_numbers["cap_days"],
        payment_methods=tuple(methods),
        mail_notice_days=mail_days,
    )
    return ParsedForm(name=name.strip(), terms=terms, agreement_text=text)


def _whole(document: dict, key: str, least: int, problem, prefix: str = "") -> int | None:
    if key not in document:
        return None
    value = document[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        problem(f"{prefix}{key}", f"a whole number of {least} or more (not {json.dumps(value)})")
        return None
    return value


def _reasons(document: dict, key: str, value, problem) -> set[str]:
    if value is None:
        return set()
    if not isinstance(value, list):
        problem(key, "a list of termination reasons (or null)")
        return set()
    reasons = set()
    for i, reason in enumerate(value):
        if reason not in rules.TERMINATION_REASONS:
            problem(
                f"{key}[{i}]",
                f"“{reason}” is not a termination reason; use "
                f"{', '.join(rules.TERMINATION_REASONS)}",
            )
        else:
            reasons.add(reason)
    return reasons


def _accelerating(value, problem) -> set[str]:
    """``vesting_on_termination``: the reasons whose unvested shares all vest at termination,
    as {"INVOLUNTARY_DEATH": "ACCELERATE_ALL"} (a reason may also say "STOP")."""
    key = "vesting_on_termination"
    if value is None:
        return set()
    if isinstance(value, list):  # the accelerating reasons listed alone
        value = (
            dict.fromkeys(map(str, value), rules.ACCELERATE_ALL)
            if all(isinstance(reason, str) for reason in value)
            else value
        )
    if not isinstance(value, dict):
        problem(key, 'an object such as {"INVOLUNTARY_DEATH": "ACCELERATE_ALL"} ({} for none)')
        return set()
    reasons = set()
    for reason, vesting in value.items():
        if reason not in rules.TERMINATION_REASONS:
            problem(f"{key}.{reason}", "not a termination reason")
        elif vesting not in (rules.ACCELERATE_ALL, rules.STOP):
            problem(f"{key}.{reason}", f"“{vesting}” is not ACCELERATE_ALL or STOP")
        elif vesting == rules.ACCELERATE_ALL:
            reasons.add(reason)
    return reasons


def _windows(value, problem) -> dict[str, tuple[int, str]]:
    key = "termination_exercise_windows"
    if value is None:
        return {}
    if not isinstance(value, list):
        problem(key, "a list of windows: {reason, period, period_type}")
        return {}
    windows: dict[str, tuple[int, str]] = {}
    for i, window in enumerate(value):
        where = f"{key}[{i}]"
        if not isinstance(window, dict):
            problem(where, "an object with reason, period and period_type")
            continue
        for extra in window:
            if extra not in ("reason", "period", "period_type"):
                problem(f"{where}.{extra}", "unknown key")
        reason, period, unit = window.get("reason"), window.get("period"), window.get("period_type")
        ok = True
        if reason not in rules.TERMINATION_REASONS:
            problem(
                f"{where}.reason",
                f"“{reason}” is not a termination reason; use "
                f"{', '.join(rules.TERMINATION_REASONS)}",
            )
            ok = False
        elif reason in windows:
            problem(f"{where}.reason", f"{reason} has two windows")
            ok = False
        if isinstance(period, bool) or not isinstance(period, int) or period < 0:
            problem(f"{where}.period", f"a whole number of 0 or more (not {json.dumps(period)})")
            ok = False
        if isinstance(unit, str) and unit.upper() in rules.PERIOD_TYPES:
            unit = unit.upper()
        if unit not in rules.PERIOD_TYPES:
            problem(
                f"{where}.period_type", f"“{unit}” is not one of {', '.join(rules.PERIOD_TYPES)}"
            )
            ok = False
        if ok:
            windows[reason] = (period, unit)
    for reason in rules.TERMINATION_REASONS:
        if reason not in windows and not any(
            isinstance(w, dict) and w.get("reason") == reason for w in value
        ):
            problem(key, f"no window for {reason}: a form states all seven reasons")
    return windows


def write(form: GrantTerms) -> dict:
    """The form as a file, keys in the order of DOMAIN.md."""
    terms = form.as_rules()
    tolling = [w.reason for w in terms.windows if w.tolling]
    section16 = [w.reason for w in terms.windows if w.section16]
    order = {reason: i for i, reason in enumerate(EXPORT_ORDER)}
    return {
        "name": form.name,
        "minimum_exercise": terms.minimum_exercise,
        "small_installment_exception": terms.small_installment_exception,
        "final_exercise_exception": terms.final_exercise_exception,
        "termination_exercise_windows": [
            {"reason": w.reason, "period": w.period, "period_type": w.period_type}
            for w in sorted(terms.windows, key=lambda w: order[w.reason])
        ],
        "vesting_on_termination": {
            w.reason: rules.ACCELERATE_ALL
            for w in terms.windows
            if w.vesting == rules.ACCELERATE_ALL
        },
        "registration_tolling": sorted(tolling, key=order.get),
        # null only when it says nothing: numbers kept without reasons round-trip too.
        "section16_extension": {
            "reasons": sorted(section16, key=order.get),
            "days_after_liability": terms.section16_days_after_liability,
            "cap_months": terms.section16_cap_months,
            "cap_days": terms.section16_cap_days,
        }
        if section16
        or terms.section16_days_after_liability
        or terms.section16_cap_months
        or terms.section16_cap_days
        else None,
        "payment_methods": list(terms.payment_methods),
        "mail_notice_days": terms.mail_notice_days,
        "agreement_text": form.agreement_text,
    }


# DOMAIN.md lists the windows with the five "other" reasons first, then disability and death.
EXPORT_ORDER = (
    rules.VOLUNTARY_OTHER,
    rules.VOLUNTARY_GOOD_CAUSE,
    rules.VOLUNTARY_RETIREMENT,
    rules.INVOLUNTARY_OTHER,
    rules.INVOLUNTARY_WITH_CAUSE,
    rules.INVOLUNTARY_DISABILITY,
    rules.INVOLUNTARY_DEATH,
)


def dumps(form: GrantTerms) -> str:
    return json.dumps(write(form), indent=2, ensure_ascii=False) + "\n"


def save(parsed: ParsedForm, *, today) -> tuple[GrantTerms, str]:
    """Create the form, or update the one of that name; returns it and "created",
    "updated" or "unchanged". A form that grants use is not changed in a way that would
    move one of them: that is refused, naming them (import it under a new name instead)."""
    fields = {**GrantTerms.fields_of(parsed.terms), "agreement_text": parsed.agreement_text}
    with transaction.atomic():
        form = GrantTerms.objects.select_for_update().filter(name=parsed.name).first()
        if form is None:
            return GrantTerms.objects.create(name=parsed.name, **fields), "created"
        current = {**GrantTerms.fields_of(form.as_rules()), "agreement_text": form.agreement_text}
        if current == fields:
            return form, "unchanged"
        if form.grants.exists():
            moved = form.grants_it_would_move(parsed.terms, today)
            if moved or current != {**fields, "agreement_text": current["agreement_text"]}:
                shown = "; ".join(f"{n}: {a:%Y-%m-%d} → {b:%Y-%m-%d}" for n, a, b in moved[:10])
                raise ValidationError(
                    f"{form.grants.count():,} grant(s) were made under the form “{form.name}”, "
                    f"and their agreements are signed: its terms are not changed here"
                    + (f" (it would move {len(moved)}: {shown})" if moved else "")
                    + ". Import the new terms under a new name and use them for new grants.",
                    code="form_in_use",
                )
        for name, value in fields.items():
            setattr(form, name, value)
        form.save()
        form.refresh_from_db()
        return form, "updated"


def seed_form() -> GrantTerms:
    """The seed agreement's form, from the project's file (created once)."""
    parsed = read(SEED_FORM_FILE.read_bytes())
    form = GrantTerms.objects.filter(name=parsed.name).first()
    if form is not None:
        return form
    return GrantTerms.objects.create(
        name=parsed.name,
        agreement_text=parsed.agreement_text,
        **GrantTerms.fields_of(parsed.terms),
    )
