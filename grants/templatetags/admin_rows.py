"""A faster body for the back office's change lists.

Django's ``{% result_list %}`` builds each cell through the admin's generic machinery
(``lookup_field``, then ``display_for_field`` or ``display_for_value``, then a
``format_html`` per cell): about a millisecond a row, most of a 50-row page
(docs/performance.md). ``{% fast_result_list %}`` draws the same rows from the same
display methods and Django's own ``display_for_field`` and ``display_for_value``, with the
same headers, sorting links, classes and action checkboxes, and escapes each value as
Django does (``conditional_escape``: a display method's safe HTML is kept). A list whose
columns it does not know how to draw exactly (a callable or a model property in
``list_display``, ``list_display_links``, ``list_editable``) is drawn by Django's own
``items_for_result``. A test compares every list, row by row, with Django's rendering.
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.contrib.admin.templatetags.admin_list import (
    items_for_result,
    result_headers,
    result_hidden_fields,
)
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import display_for_field, display_for_value
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

register = template.Library()

_NOWRAP_FIELDS = (models.DateField, models.TimeField, models.ForeignKey)


def _column(model_admin, name: str):
    """How to draw column ``name``: ("method", the display method) or ("field", the model
    field); None for a column only Django's generic path draws exactly."""
    if not isinstance(name, str) or name == "__str__":  # the row itself: Django's path
        return None
    method = getattr(model_admin, name, None)
    if callable(method):
        return ("method", method)
    try:
        field = model_admin.model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    if field.auto_created or (field.is_relation and not isinstance(field, models.ForeignKey)):
        return None
    return ("field", field)


def _columns(cl):
    """The columns of ``cl`` after the action checkbox, or None when any is not one this
    module draws (or the list is a popup, whose links carry the chosen row's key)."""
    if cl.model_admin.list_display_links or cl.list_editable or cl.is_popup:
        return None
    names = [name for name in cl.list_display if name != "action_checkbox"]
    columns = [_column(cl.model_admin, name) for name in names]
    return None if None in columns else list(zip(names, columns, strict=True))


def _cell(obj, name: str, column, empty: str, first: bool, url: str) -> str:
    kind, what = column
    classes = f"field-{name}"
    if kind == "method":
        value = what(obj)
        shown = display_for_value(
            value,
            getattr(what, "empty_value_display", empty),
            getattr(what, "boolean", False),
        )
        if isinstance(value, (dt.date, dt.time)):
            classes += " nowrap"
    else:
        value = getattr(obj, what.name)
        if isinstance(what, models.ForeignKey):
            shown = empty if value is None else value
        else:
            shown = display_for_field(value, what, empty)
        if isinstance(what, _NOWRAP_FIELDS):
            classes += " nowrap"
    shown = conditional_escape(shown)
    if first:
        return f'<th class="{classes}"><a href="{conditional_escape(url)}">{shown}</a></th>'
    return f'<td class="{classes}">{shown}</td>'


class RowLinks:
    """Each row's address as Django's rows link it: the row's page, with the list's filters
    and ordering kept for the way back (``_changelist_filters``). Django reverses each
    row's address and works the kept part out again for every row (resolving the address
    each time). Both are worked out once, on the first row: the address of a row with a
    whole-number key is the first row's with that key in its place, and the kept part is
    the same for every row of a list."""

    def __init__(self, cl):
        self.cl = cl
        self.kept = None
        self.around = None  # the first row's address before and after its key

    def page(self, obj) -> str:
        key = getattr(obj, self.cl.pk_attname)
        if not isinstance(key, int) or isinstance(key, bool):
            return self.cl.url_for_result(obj)
        if self.around is None:
            url = self.cl.url_for_result(obj)
            parts = url.rsplit(f"/{key}/", 1)
            self.around = tuple(parts) if len(parts) == 2 else ()
            return url
        if not self.around:
            return self.cl.url_for_result(obj)
        return f"{self.around[0]}/{key}/{self.around[1]}"

    def __call__(self, obj) -> str:
        url = self.page(obj)
        if self.kept is None:
            full = add_preserved_filters(
                {"preserved_filters": self.cl.preserved_filters, "opts": self.cl.opts}, url
            )
            if not full.startswith(url) or "?" in url:  # not a plain suffix: row by row
                return full
            self.kept = full[len(url) :]
        return url + self.kept


def row_cells(cl, obj, columns, link=None) -> list[str]:
    """The cells of ``obj``'s row after its checkbox, as Django's ``items_for_result``
    draws them: the first column links to the row's page (``RowLinks``)."""
    empty = cl.model_admin.get_empty_value_display()
    url = (link or RowLinks(cl))(obj)
    return [
        _cell(obj, name, column, empty, index == 0, url)
        for index, (name, column) in enumerate(columns)
    ]


@register.inclusion_tag("admin/change_list_results.html")
def fast_result_list(cl):
    headers = list(result_headers(cl))
    num_sorted_fields = sum(1 for h in headers if h["sortable"] and h["sorted"])
    checkbox = "action_checkbox" in cl.list_display
    columns = _columns(cl)
    link = RowLinks(cl)
    rows = []
    for obj in cl.result_list:
        if columns is None:
            rows.append(list(items_for_result(cl, obj, None)))
            continue
        cells = []
        if checkbox:
            cells.append(
                '<td class="action-checkbox"><input type="checkbox" name="_selected_action"'
                f' value="{conditional_escape(str(obj.pk))}" class="action-select"'
                f' aria-label="Select this object for an action - {conditional_escape(str(obj))}">'
                "</td>"
            )
        cells += row_cells(cl, obj, columns, link)
        rows.append([mark_safe("".join(cells))])  # every value in a cell is escaped
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": num_sorted_fields,
        "results": rows,
    }
