"""The form renderer (``FORM_RENDERER``): Django's own, with the templates that cost most
written out in Python.

Django draws each ``<option>`` of a ``<select>`` through a template of its own: about 0.1 ms
an option. The back office's permission pickers hold over 200 options each, and drawing
them was most of the user and group pages (60 ms at a million grants,
docs/performance.md). ``select.html`` and ``select_option.html`` are written here as the
templates write them, byte for byte (``tests/test_form_renderer.py`` compares the two on
every kind of choice); a widget with templates of its own is drawn by them as before.

The ``<input>`` of every plain field is the other: three templates (``checkbox.html``
includes ``input.html``, which includes ``attrs.html``), 0.15 ms a box. A list of the
back office draws one for each row's selection box: 10 ms of the 35 ms the sign-in log
took for its 62 rows.
"""

from __future__ import annotations

from django.forms.renderers import DjangoTemplates
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeData, mark_safe

SELECT = "django/forms/widgets/select.html"
OPTION = "django/forms/widgets/select_option.html"
# Django's templates that are ``{% include "django/forms/widgets/input.html" %}`` alone.
INPUTS = {
    f"django/forms/widgets/{name}.html"
    for name in [
        *("input", "checkbox", "color", "date", "datetime", "email", "file", "hidden"),
        *("number", "password", "search", "tel", "text", "time", "url"),
    ]
}


def _formatted(value) -> str:
    """``{{ value|stringformat:'s' }}``: the value as text, escaped unless marked safe."""
    text = str(value)  # what "%s" gives, a tuple's text included
    return text if isinstance(value, SafeData) else escape(text)


def _attrs(attrs: dict) -> str:
    """``attrs.html``: each attribute, a True one by its name alone, a False one left out."""
    return "".join(
        f" {conditional_escape(name)}"
        if value is True
        else f' {conditional_escape(name)}="{_formatted(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input(widget: dict) -> str:
    """``input.html``."""
    value = widget["value"]
    shown = "" if value is None else f' value="{_formatted(value)}"'
    return (
        f'<input type="{conditional_escape(widget["type"])}" '
        f'name="{conditional_escape(widget["name"])}"{shown}{_attrs(widget["attrs"])}>'
    )


def _option(option: dict) -> str:
    return (
        f'<option value="{escape(str(option["value"]))}"{_attrs(option["attrs"])}>'
        f"{conditional_escape(option['label'])}</option>\n"
    )


def _select(widget: dict) -> str:
    parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, options, _index in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
        parts.extend(f"\n  {_option(option)}" for option in options)
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")  # the renderer strips the template's last newline
    return "".join(parts)


class FormRenderer(DjangoTemplates):
    def render(self, template_name, context, request=None):
        widget = context.get("widget")
        if (
            template_name == SELECT
            and widget is not None
            and all(
                option.get("template_name") == OPTION
                for _, options, _ in widget["optgroups"]
                for option in options
            )
        ):
            return mark_safe(_select(widget))
        if template_name in INPUTS and widget is not None:
            return mark_safe(_input(widget))
        return super().render(template_name, context, request)
