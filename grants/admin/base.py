"""Building blocks shared by the back-office screens."""

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse
from simple_history.admin import SimpleHistoryAdmin


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class EventAdmin(SimpleHistoryAdmin):
    """Rows recorded by a model verb: viewable with their history, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def form_error(form, error: ValidationError) -> None:
    """Show a refusal from a model verb on the form, as the person should read it."""
    form.add_error(None, error)


def render_admin_form(
    request, model_admin, *, title, form, template="admin/grants/form.html", **context
):
    """Render a back-office form page inside the admin's frame (breadcrumbs, sidebar)."""
    opts = model_admin.model._meta
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "opts": opts,
            "title": title,
            "form": form,
            "media": model_admin.media + form.media,
            **context,
        },
    )
