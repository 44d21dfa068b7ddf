"""Broken and hostile files, for every reader of CSV: ``import_grants``,
``import_terminations``, ``import_prices`` and the back office's closing-price upload.

- Strict CSV: a value whose double quotes are never closed (a file cut off inside one), a
  last line cut short, and a stray quote after a closing one are each refused with the
  line they are on, and nothing from the file is kept.
- Text a spreadsheet would run as a formula (a leading ``=``, ``+``, ``-``, ``@``, tab or
  carriage return) is refused in names and numbers, line by line.
- Grant numbers and employee ids hold only letters A–Z, digits, spaces and ``- _ . #``,
  starting with a letter or a digit: no control character, no NUL, no slash; in the
  imports, in the back office's forms and in ``Grant.create``.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from grants.models import ClosingPrice, Grant, Optionee
from tests.factories import OptioneeFactory, UserFactory, changes_nothing

GRANT_HEADER = (
    "employee_id,legal_name,email,relationship,insider,grant_number,type,grant_date,shares,"
    "exercise_price,term_end,plan,terms,immediate_shares,cliff_months,vesting_months,"
    "every_months,schedule"
)
TERMINATION_HEADER = "employee_id,email,date,reason,note"
PRICE_HEADER = "date,price"
IDENTIFIER_RULE = "use only letters A–Z, digits, spaces and - _ . #"


@pytest.fixture(autouse=True)
def tuesday():
    with time_machine.travel(dt.datetime(2007, 5, 1, 10, tzinfo=ZoneInfo("America/Chicago"))):
        yield


def grant_line(**changes: str) -> str:
    cells = {
        "employee_id": "V-3001",
        "legal_name": "Ann Lee",
        "email": "ann.lee@example.com",
        "relationship": "employee",
        "insider": "no",
        "grant_number": "G-0001",
        "type": "NSO",
        "grant_date": "2007-03-01",
        "shares": "48000",
        "exercise_price": "1.85",
        "term_end": "2017-03-01",
        "plan": "Compensatory Benefit Plan",
        "terms": "",
        "immediate_shares": "",
        "cliff_months": "12",
        "vesting_months": "48",
        "every_months": "12",
        "schedule": "",
        **changes,
    }
    return ",".join(quoted(cell) for cell in cells.values())


def quoted(cell: str) -> str:
    """The cell as a spreadsheet writes it: in double quotes when it must be."""
    if any(mark in cell for mark in ',"\r\n'):
        return '"' + cell.replace('"', '""') + '"'
    return cell


def said(entry: str, content: bytes, grant, tmp_path) -> str:
    """Hand ``content`` to an import or the upload; it must be refused with the book left as
    it was. Returns what the person reads (output, errors, page text), whitespace folded."""
    if entry == "upload":
        client = _staff_client()
        upload = SimpleUploadedFile("prices.csv", content, content_type="text/csv")
        with changes_nothing(grant), _prices_unchanged():
            response = client.post(
                reverse("admin:grants_closingprice_upload"),
                {"company": grant.company.pk, "file": upload},
            )
        assert response.status_code == 200
        return re.sub(r"\s+", " ", html.unescape(response.content.decode()))
    path = tmp_path / "feed.csv"
    path.write_bytes(content)
    out, err = StringIO(), StringIO()
    with changes_nothing(grant), _prices_unchanged(), pytest.raises(CommandError):
        call_command(entry, str(path), stdout=out, stderr=err)
    assert "Nothing was imported" in out.getvalue()
    return re.sub(r"\s+", " ", f"{out.getvalue()} {err.getvalue()}")


def said_at(text: str, line: int, message: str) -> bool:
    """Whether ``text`` holds ``message`` about ``line``: "Line 3: ..." on the upload's
    page, "feed.csv, line 3: ..." from a command."""
    return re.search(rf"[Ll]ine {line}: {re.escape(message)}", text) is not None


def _staff_client():
    from django.test import Client

    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


class _prices_unchanged:
    def __enter__(self):
        self.before = list(ClosingPrice.objects.order_by("pk").values_list("date", "price"))

    def __exit__(self, *exc):
        if exc[0] is None:
            assert list(ClosingPrice.objects.order_by("pk").values_list("date", "price")) == (
                self.before
            )


# Per reader: its header, a good line, and a good line for the price readers' 3rd line.
FILES = {
    "import_grants": (GRANT_HEADER, grant_line(), grant_line(grant_number="G-0002")),
    "import_terminations": (TERMINATION_HEADER, "V-0001,,2007-04-30,other,Left", None),
    "import_prices": (PRICE_HEADER, "2007-04-30,4.10", "2007-04-27,4.05"),
    "upload": (PRICE_HEADER, "2007-04-30,4.10", "2007-04-27,4.05"),
}
READERS = list(FILES)


def _quoted_last(line: str) -> str:
    """The line with its last value opened by a double quote that is never closed."""
    head, _, last = line.rpartition(",")
    return f'{head},"{last}'


# --------------------------------------------------------------------------- strict CSV


@pytest.mark.django_db
@pytest.mark.parametrize("entry", READERS)
def test_a_file_cut_off_inside_a_quoted_value_is_refused(entry, grant, tmp_path):
    header, good, _ = FILES[entry]
    content = f"{header}\n{good}\n{_quoted_last(good)}\n".encode()
    text = said(entry, content, grant, tmp_path)
    assert said_at(text, 3, "a value in double quotes is not closed")
    assert "Close the quotes, or send the whole file again." in text


@pytest.mark.django_db
@pytest.mark.parametrize("entry", READERS)
def test_an_unclosed_quote_that_swallows_the_next_lines_is_refused(entry, grant, tmp_path):
    header, good, _ = FILES[entry]
    opened = good.replace(",", ',"', 1)  # the second value opens a quote that never closes
    content = f"{header}\n{opened}\n{good}\n{good}".encode()
    text = said(entry, content, grant, tmp_path)
    assert said_at(text, 2, "a value in double quotes is not closed")


@pytest.mark.django_db
@pytest.mark.parametrize("entry", READERS)
def test_a_last_line_cut_short_is_refused(entry, grant, tmp_path):
    header, good, _ = FILES[entry]
    count = len(header.split(","))
    cut = good.split(",")[: count - 1]
    content = f"{header}\n{good}\n{','.join(cut)}".encode()  # no newline: the file just ends
    assert f"expected {count} values" in said(entry, content, grant, tmp_path)


@pytest.mark.django_db
@pytest.mark.parametrize("entry", READERS)
def test_a_stray_quote_after_a_closing_quote_is_refused(entry, grant, tmp_path):
    header, good, _ = FILES[entry]
    first, _, rest = good.partition(",")
    content = f'{header}\n"{first}"x,{rest}\n'.encode()
    text = said(entry, content, grant, tmp_path)
    assert said_at(text, 2, "a double quote that closes a value must be followed by a comma")


@pytest.mark.django_db
@pytest.mark.parametrize("entry", READERS)
def test_a_well_quoted_file_is_read(entry, grant, tmp_path):
    """Strictness refuses nothing a spreadsheet writes: values in quotes, a doubled quote
    inside one, a value over two lines (a note), Windows line ends."""
    header, good, other = FILES[entry]
    if entry == "import_grants":
        other = grant_line(grant_number="G-0002", employee_id="V-3002", legal_name='Bea "B" Ray')
    elif entry == "import_terminations":
        other = 'V-3001,,2007-04-30,other,"Left\non good terms"'
        good = good.replace("V-0001", "V-3001")
    content = f"{header}\r\n{quoted_all(good)}\r\n{other}\r\n".encode()
    if entry == "upload":
        upload = SimpleUploadedFile("prices.csv", content, content_type="text/csv")
        _staff_client().post(
            reverse("admin:grants_closingprice_upload"),
            {"company": grant.company.pk, "file": upload},
        )
    else:
        path = tmp_path / "feed.csv"
        path.write_bytes(content)
        if entry == "import_terminations":
            path.write_bytes(f"{header}\r\n{other}\r\n".encode())
            grant.optionee.employee_id = "V-3001"
            grant.optionee.save()
        call_command(entry, str(path), stdout=StringIO(), stderr=StringIO())
    if entry == "import_grants":
        assert Optionee.objects.get(employee_id="V-3002").legal_name == 'Bea "B" Ray'
        assert Grant.objects.filter(number__startswith="G-").count() == 2
    elif entry == "import_terminations":
        assert grant.optionee.terminations.get().note == "Left\non good terms"
    else:
        assert ClosingPrice.objects.count() == 2


def quoted_all(line: str) -> str:
    return ",".join(f'"{cell}"' for cell in line.split(","))


# --------------------------------------------------------------------------- formulas


FORMULAS = ['=HYPERLINK("http://x","y")', "+1", "-1+2", "@SUM(A1)", "\t=1", "\rX"]


@pytest.mark.django_db
@pytest.mark.parametrize("column", ["legal_name", "plan", "terms"])
@pytest.mark.parametrize("value", FORMULAS)
def test_import_grants_refuses_a_name_that_starts_like_a_formula(column, value, grant, tmp_path):
    content = f"{GRANT_HEADER}\n{grant_line(**{column: value})}\n".encode()
    text = said("import_grants", content, grant, tmp_path)
    assert said_at(text, 2, f"{column} starts with")
    assert "which a spreadsheet may run as a formula; remove it" in text


@pytest.mark.django_db
@pytest.mark.parametrize("column", ["employee_id", "grant_number"])
@pytest.mark.parametrize("value", FORMULAS)
def test_import_grants_refuses_a_number_that_starts_like_a_formula(column, value, grant, tmp_path):
    content = f"{GRANT_HEADER}\n{grant_line(**{column: value})}\n".encode()
    text = said("import_grants", content, grant, tmp_path)
    assert said_at(text, 2, f"{column} starts with")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("shares", "=48000", "shares: “=48000” is not a whole number"),
        ("shares", "+48000", "shares: “+48000” is not a whole number"),
        ("shares", "-48000", "shares: -48000 is negative"),
        ("exercise_price", "@1.85", "exercise_price: “@1.85” is not a price"),
        ("cliff_months", "=12", "cliff_months: “=12” is not a whole number of months"),
    ],
)
def test_import_grants_refuses_a_quantity_that_starts_like_a_formula(
    column, value, message, grant, tmp_path
):
    content = f"{GRANT_HEADER}\n{grant_line(**{column: value})}\n".encode()
    assert message in said("import_grants", content, grant, tmp_path)


@pytest.mark.django_db
@pytest.mark.parametrize("value", FORMULAS)
def test_import_terminations_refuses_an_employee_id_that_starts_like_a_formula(
    value, grant, tmp_path
):
    content = f"{TERMINATION_HEADER}\n{quoted(value)},,2007-04-30,other,\n".encode()
    text = said("import_terminations", content, grant, tmp_path)
    assert said_at(text, 2, "employee_id starts with")


@pytest.mark.django_db
@pytest.mark.parametrize("entry", ["import_prices", "upload"])
@pytest.mark.parametrize("price", ["=4.10", "+4.10", "-4.10", "@4.10"])
def test_the_price_readers_refuse_a_price_that_starts_like_a_formula(entry, price, grant, tmp_path):
    content = f"{PRICE_HEADER}\n2007-04-30,{price}\n".encode()
    assert f"“{price}” is not a price" in said(entry, content, grant, tmp_path)


# --------------------------------------------------------------------------- identifiers


BAD_IDENTIFIERS = [
    ("G\x00-1", "U+0000"),
    ("G-\x07", "U+0007"),
    ("G/1", "“/”"),
    ("G<1>", "“<”"),
    ("G;1", "“;”"),
    ("Ǵ-1", "“Ǵ”"),
    ("#1", "“#”"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("column", ["grant_number", "employee_id"])
@pytest.mark.parametrize(("value", "shown"), BAD_IDENTIFIERS)
def test_import_grants_refuses_an_identifier_outside_the_safe_characters(
    column, value, shown, grant, tmp_path
):
    content = f"{GRANT_HEADER}\n{grant_line(**{column: value})}\n".encode()
    text = said("import_grants", content, grant, tmp_path)
    assert said_at(text, 2, f"{column}:")
    assert shown in text
    assert IDENTIFIER_RULE in text


@pytest.mark.django_db
@pytest.mark.parametrize(("value", "shown"), BAD_IDENTIFIERS)
def test_import_terminations_refuses_an_employee_id_outside_the_safe_characters(
    value, shown, grant, tmp_path
):
    content = f"{TERMINATION_HEADER}\n{value},,2007-04-30,other,\n".encode()
    text = said("import_terminations", content, grant, tmp_path)
    assert said_at(text, 2, "employee_id:")
    assert IDENTIFIER_RULE in text


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["VLNC-2007-0101", "ab_12.3 #4", "E 1", "7"])
def test_safe_identifiers_are_imported(value, grant, tmp_path):
    line = grant_line(grant_number=value, employee_id=value)
    path = tmp_path / "grants.csv"
    path.write_text(f"{GRANT_HEADER}\n{line}\n")
    call_command("import_grants", str(path), stdout=StringIO(), stderr=StringIO())
    assert Grant.objects.get(number=value).optionee.employee_id == value


@pytest.mark.django_db
@pytest.mark.parametrize("column", ["legal_name", "plan", "note"])
def test_a_nul_character_in_any_text_is_refused(column, grant, tmp_path):
    if column == "note":
        entry, content = (
            "import_terminations",
            f"{TERMINATION_HEADER}\nV-0001,,2007-04-30,other,a\x00b\n",
        )
    else:
        entry = "import_grants"
        content = f"{GRANT_HEADER}\n{grant_line(**{column: 'a' + chr(0) + 'b'})}\n"
    text = said(entry, content.encode(), grant, tmp_path)
    assert said_at(text, 2, f"{column} holds a control character (U+0000); remove it.")


# --------------------------------------------------------------------------- the back office


@pytest.fixture
def staff(client, grant):
    client.force_login(UserFactory(username="stockadmin", is_staff=True, is_superuser=True))
    return client


def page_text(response) -> str:
    assert response.status_code == 200, response.status_code
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


@pytest.mark.django_db
@pytest.mark.parametrize(("value", "shown"), BAD_IDENTIFIERS)
def test_the_add_grant_form_refuses_a_grant_number_outside_the_safe_characters(
    staff, grant, value, shown
):
    optionee = OptioneeFactory(company=grant.company, legal_name="Nora Newcomer")
    data = {
        "number": value,
        "optionee": optionee.pk,
        "plan": grant.plan.pk,
        "terms": grant.terms.pk,
        "option_type": "NSO",
        "grant_date": "2007-05-01",
        "shares": "48000",
        "exercise_price": "4.10",
        "term_end": "2017-05-01",
        "schedule_kind": "shape",
        "immediate_shares": "0",
        "cliff_months": "12",
        "vesting_months": "48",
        "every_months": "3",
        "custom_installments": "",
        "_save": "Save grant",
    }
    with changes_nothing(grant):
        response = staff.post(reverse("admin:grants_grant_add"), data)
    said = page_text(response)
    assert IDENTIFIER_RULE in said
    if "\x00" not in value:  # Django's own check names the NUL first
        assert shown in said
    assert not Grant.objects.filter(optionee=optionee).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("value", "shown"), [v for v in BAD_IDENTIFIERS if "\x00" not in v[0]])
def test_the_optionee_form_refuses_an_employee_id_outside_the_safe_characters(
    staff, grant, value, shown
):
    url = reverse("admin:grants_optionee_change", args=[grant.optionee.pk])
    page = staff.get(url)
    form = page.context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, initial in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = initial
    data.update(company=grant.company.pk, employee_id=value, relationship="employee", _save="Save")
    data["_loaded_version"] = page.context["loaded_version"]
    response = staff.post(url, {k: v for k, v in data.items() if v is not None})
    said = page_text(response)
    assert IDENTIFIER_RULE in said
    assert shown in said
    grant.optionee.refresh_from_db()
    assert grant.optionee.employee_id != value


@pytest.mark.django_db
@pytest.mark.parametrize(("value", "shown"), BAD_IDENTIFIERS)
def test_grant_create_refuses_a_grant_number_outside_the_safe_characters(grant, value, shown):
    with changes_nothing(grant), pytest.raises(ValidationError) as refused:
        Grant.create(
            number=value,
            plan=grant.plan,
            optionee=grant.optionee,
            grant_date=dt.date(2007, 5, 1),
            shares=1_000,
            exercise_price=Decimal("4.10"),
            term_end=dt.date(2017, 5, 1),
            installments=[(dt.date(2007, 5, 1), 1_000)],
        )
    assert IDENTIFIER_RULE in " ".join(refused.value.messages)
    assert shown in " ".join(refused.value.messages)
