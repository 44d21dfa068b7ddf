"""The rules engine: the contract rules of a stock option grant, one clause per function.

Everything here is pure: plain dates, datetimes, ints and Decimals in, plain values
out, no ORM and no clock. Model methods (``grants/models/``) gather the rows and call
these functions; the admin, the portal and the commands call the model methods. Each
function's docstring cites the paragraph of the seed agreement
(``shared/seed/stock-option-agreement.txt``) it enforces, and ``docs/contract-rules.md``
maps every paragraph to its function and tests.

A broken rule raises ``django.core.exceptions.ValidationError`` with a message a person
can act on and a stable ``code`` (Django's exception class carries no ORM with it).

The package is one rules module in three files, each re-exported here so callers write
``rules.expiration``: ``terms`` (the vocabulary and an agreement form's ``Terms``),
``shares`` (how many) and ``dates`` (when, and the money at exercise).
"""

from django.core.exceptions import ValidationError  # noqa: F401  (rules.ValidationError)

from grants.rules.dates import (  # noqa: F401
    aggregate_price,
    check_exerciser,
    check_hold,
    check_not_expired,
    check_price_at_grant,
    check_service_end,
    deemed_received,
    due_expiry_warning,
    expiration,
    intrinsic_value,
    net_exercise,
    next_expiry_warning_on,
    next_nightly_action,
    notice_effective_date,
    taxable_spread,
    withholding_estimate,
)
from grants.rules.shares import (  # noqa: F401
    SHARES_TEXT,
    check_minimum_exercise,
    check_plan_limits,
    check_registration,
    check_schedule,
    exercisable_shares,
    forfeited_shares,
    fully_exercised,
    is_suspended,
    is_vested,
    returned_shares,
    unexercised_by_installment,
    unexercised_shares,
    vested_shares,
    whole_shares,
)
from grants.rules.terms import (  # noqa: F401
    ACCELERATE_ALL,
    CENT,
    DAYS,
    INVOLUNTARY_DEATH,
    INVOLUNTARY_DISABILITY,
    INVOLUNTARY_OTHER,
    INVOLUNTARY_WITH_CAUSE,
    MONTHS,
    PAYMENT_CASH,
    PAYMENT_CHECK,
    PAYMENT_METHODS,
    PAYMENT_NET,
    PAYMENT_REG_T,
    PERIOD_TYPES,
    REASON_DEATH,
    REASON_DISABILITY,
    REASON_LABELS,
    REASON_OTHER,
    SHORT_REASONS,
    STOP,
    TERMINATION_REASONS,
    VOLUNTARY_GOOD_CAUSE,
    VOLUNTARY_OTHER,
    VOLUNTARY_RETIREMENT,
    YEARS,
    BusinessCalendar,
    Expiration,
    Installment,
    Period,
    Termination,
    Terms,
    Window,
    add_months,
    seed_windows,
    termination_reason,
)
