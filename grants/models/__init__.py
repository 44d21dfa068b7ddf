"""The book of stock option grants, one module per part of the book.

Models hold the facts (grants, installments, exercises, terminations, notices and the
company facts the rules need). Reading methods gather rows and ask ``grants.rules`` for
the answer; state-changing verbs (``Grant.request_exercise``, ``Optionee.terminate``,
``Company.suspend_registration``, ...) run in a transaction, lock what they change,
re-validate with the same rule functions, store the recomputed expiration date and leave
an audit history (django-simple-history) of every row they touch. Batch work over many
grants (the nightly job, the bulk grant writer) is in ``grants.services``.

The modules build on each other in one direction: company, then plans and notices, people,
facts, exercises and last the grant, which imports them all. A method of an earlier module
that needs a later model (a company's grants, say) imports it where it is used.
"""

from grants.models.company import (  # _validate_time_zone: named by migration 0001
    ClosingPrice,
    Company,
    Holiday,
    RegistrationSuspension,
    WithholdingRate,
    _validate_time_zone,
)
from grants.models.exercises import Exercise, ExerciseCheck, ExercisePreview
from grants.models.facts import GrantFacts, Position, ScheduleRow, people_facts
from grants.models.grant import Grant, GrantQuerySet, Installment, gather_facts
from grants.models.notices import Acknowledgement, Notice
from grants.models.people import (
    ExerciseHold,
    NoticeAddress,
    Optionee,
    OptioneeQuerySet,
    Section16Window,
    Successor,
    Termination,
    TerminationEffect,
    TerminationWindow,
)
from grants.models.plans import GrantTerms, Plan, PlanUsage, TermsUsage
from grants.models.valuation import GrantValuation

__all__ = [
    "Acknowledgement",
    "ClosingPrice",
    "Company",
    "Exercise",
    "ExerciseCheck",
    "ExerciseHold",
    "ExercisePreview",
    "Grant",
    "GrantFacts",
    "GrantQuerySet",
    "GrantTerms",
    "GrantValuation",
    "Holiday",
    "Installment",
    "Notice",
    "NoticeAddress",
    "Optionee",
    "OptioneeQuerySet",
    "Plan",
    "PlanUsage",
    "Position",
    "RegistrationSuspension",
    "ScheduleRow",
    "Section16Window",
    "Successor",
    "Termination",
    "TerminationEffect",
    "TerminationWindow",
    "TermsUsage",
    "WithholdingRate",
    "_validate_time_zone",
    "gather_facts",
    "people_facts",
]
