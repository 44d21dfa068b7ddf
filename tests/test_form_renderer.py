"""Select boxes drawn in Python (equity/form_renderer.py) are byte for byte what Django's
templates draw: for every kind of choice, and on the back office's heaviest pages."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.forms.renderers import DjangoTemplates, get_default_renderer
from django.utils.safestring import mark_safe

from equity.form_renderer import FormRenderer
from tests.factories import UserFactory

CHOICES = [
    ("", "---------"),
    (1, "A & B <c>"),
    ('x"y', mark_safe("<b>already safe</b>")),
    ("Group 1", [(2, "two"), (3, "three")]),
    (None, "none"),
    (4.5, "a float"),
]
WIDGETS = [
    forms.Select(choices=CHOICES),
    forms.SelectMultiple(
        choices=CHOICES, attrs={"disabled": True, "data-x": 'a"b', "hidden": False}
    ),
    FilteredSelectMultiple("permissions", False, choices=CHOICES),
    FilteredSelectMultiple("groups", True, choices=CHOICES),
    forms.NullBooleanSelect(),
]


@pytest.mark.parametrize("widget", WIDGETS, ids=lambda w: type(w).__name__)
@pytest.mark.parametrize("value", [None, 1, [1, 3], 'x"y', ["2", "3"], True, "unknown"])
def test_a_select_is_drawn_as_django_s_templates_draw_it(widget, value):
    if isinstance(widget, forms.NullBooleanSelect) and isinstance(value, list):
        pytest.skip("a yes/no box takes one value")
    attrs = {"id": "id_f"}
    assert widget.render("f<ield", value, attrs, FormRenderer()) == widget.render(
        "f<ield", value, attrs, DjangoTemplates()
    )


def test_it_is_the_renderer_of_every_form():
    assert isinstance(get_default_renderer(), FormRenderer)


def drawn_by_both(client, settings, pages: list[str]) -> list[str]:
    """``pages`` as this renderer draws them, after asserting that Django's templates draw
    them the same, byte for byte (the CSRF token aside)."""

    def drawn(renderer: str) -> list[str]:
        settings.FORM_RENDERER = renderer
        get_default_renderer.cache_clear()
        token = re.compile(r'name="csrfmiddlewaretoken" value="\w+"')
        return [token.sub("", client.get(url, secure=True).content.decode()) for url in pages]

    try:
        ours = drawn("equity.form_renderer.FormRenderer")
        django_s = drawn("django.forms.renderers.DjangoTemplates")
    finally:
        get_default_renderer.cache_clear()
    assert ours == django_s
    return ours


@pytest.mark.django_db
def test_the_user_and_group_pages_are_the_pages_django_draws(client, settings):
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.create(name="Stock administrators")
    group.permissions.set(Permission.objects.all()[:7])
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    pages = [f"/admin/auth/group/{group.pk}/change/", "/admin/auth/group/add/"]
    ours = drawn_by_both(client, settings, pages)
    assert ours[0].count("<option") > 100  # every permission, seven of them chosen
    assert ours[0].count(" selected>") == 7


INPUT_WIDGETS = [
    forms.TextInput(),
    forms.TextInput(attrs={"placeholder": 'say "hi" & <go>', "size": 10, "required": True}),
    forms.CheckboxInput(),
    forms.HiddenInput(attrs={"disabled": False, "data-safe": mark_safe("<b>")}),
    forms.NumberInput(attrs={"step": "0.01", "min": 0}),
    forms.EmailInput(),
    forms.PasswordInput(render_value=True),
    forms.DateInput(),
    forms.DateTimeInput(),
    forms.TimeInput(),
    forms.URLInput(),
    forms.FileInput(),
    forms.ClearableFileInput(),  # a template of its own: drawn by Django's templates
]


@pytest.mark.parametrize("widget", INPUT_WIDGETS, ids=lambda w: type(w).__name__)
@pytest.mark.parametrize(
    "value", [None, "", "a<b & 'c'", 12, 4.5, True, False, mark_safe("<i>safe</i>"), (1, 2)]
)
def test_an_input_is_drawn_as_django_s_templates_draw_it(widget, value):
    attrs = {"id": "id_f", "class": 'x"y'}
    assert widget.render("f<ield", value, attrs, FormRenderer()) == widget.render(
        "f<ield", value, attrs, DjangoTemplates()
    )


@pytest.mark.django_db
def test_lists_and_forms_with_inputs_are_the_pages_django_draws(client, settings):
    """The selection box of every row of a list, and the fields of a record form."""
    from axes.models import AccessLog

    from grants.demo import load_demo

    load_demo()
    for n in range(3):
        AccessLog.objects.create(username=f"user{n}", ip_address="127.0.0.1", user_agent="x")
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    pages = [
        "/admin/axes/accesslog/",
        "/admin/grants/exercise/",
        "/admin/grants/company/add/",
        "/admin/grants/closingprice/add/",
        "/admin/auth/user/add/",
    ]

    ours = drawn_by_both(client, settings, pages)
    assert ours[0].count('type="checkbox"') > 3
    assert all("<input" in page for page in ours)
