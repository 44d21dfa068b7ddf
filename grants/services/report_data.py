"""The auditors' reports as data: the dicts their JSON carries (numbers as strings of
decimals) and the rows of their CSV, shared by the commands and the back office so both
give the same figures."""

from __future__ import annotations

from grants.rollforward import Table
from grants.services.reports import ExpenseReport, option_rollforward

LABELS = {
    "outstanding_start": "Outstanding at start",
    "granted": "Granted",
    "exercised": "Exercised",
    "forfeited": "Forfeited",
    "expired": "Expired",
    "outstanding_end": "Outstanding at end",
    "exercisable_end": "Exercisable at end",
}
CSV_HEADER = [
    "line",
    "shares",
    "weighted_average_exercise_price",
    "remaining_term_years",
    "intrinsic_value",
]


def rollforward_csv_rows(data: dict) -> list[list[str]]:
    rows = [CSV_HEADER]
    for name in Table.LINES:
        line = data[name]
        rows.append(
            [
                name,
                line["shares"],
                line["weighted_average_exercise_price"] or "",
                line.get("remaining_term_years") or "",
                line.get("intrinsic_value") or "",
            ]
        )
    rows.append(
        [
            "weighted_average_grant_date_fair_value",
            "",
            data["weighted_average_grant_date_fair_value"] or "",
            "",
            "",
        ]
    )
    rows.append(["intrinsic_value_exercised", "", "", "", data["intrinsic_value_exercised"]])
    return rows


def rollforward_data(company, plan, start, end, restate: bool) -> dict:
    """The table as the command writes it; with ``restate``, the difference from the
    table as it stood."""
    table = option_rollforward(company, start, end, plan=plan, restate=restate)
    data = {"company": company.name, "plan": plan.name if plan else None, **table.as_dict()}
    data["restated"] = restate
    if restate:
        stood = option_rollforward(company, start, end, plan=plan).as_dict()
        data["difference_from_as_stood"] = {
            name: str(int(data[name]["shares"]) - int(stood[name]["shares"]))
            for name in Table.LINES
        }
    return data


def expense_data(report: ExpenseReport, company, plan, by: str) -> dict:
    """The report as the command writes it in JSON: numbers as strings of decimals."""
    data = {
        "company": company.name,
        "plan": plan.name if plan else None,
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "by": by,
        "attribution": report.attribution,
        "forfeiture_rate": None if report.forfeiture_rate is None else str(report.forfeiture_rate),
        "periods": [
            {"from": p.start.isoformat(), "to": p.end.isoformat(), "expense": str(p.amount)}
            for p in report.periods
        ],
        "total": str(report.total),
        "unrecognised_cost": str(report.unrecognised),
        "weighted_average_years": (
            None if report.unrecognised_years is None else str(report.unrecognised_years)
        ),
        "grants_without_fair_value": report.unvalued,
    }
    if report.by_grant:
        data["grants"] = {
            number: [str(amount) for amount in amounts]
            for number, amounts in sorted(report.by_grant.items())
        }
    return data


def expense_csv_rows(data: dict) -> list[list[str]]:
    header = ["from", "to", "expense"]
    numbers = list(data.get("grants", {}))
    rows = [header + numbers]
    for index, period in enumerate(data["periods"]):
        rows.append(
            [period["from"], period["to"], period["expense"]]
            + [data["grants"][n][index] for n in numbers]
        )
    rows.append(["total", "", data["total"]] + [""] * len(numbers))
    rows.append(["unrecognised_cost", data["to"], data["unrecognised_cost"]] + [""] * len(numbers))
    rows.append(
        ["weighted_average_years", data["to"], data["weighted_average_years"] or ""]
        + [""] * len(numbers)
    )
    return rows
