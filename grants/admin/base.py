"""Building blocks shared by the back-office screens."""

import datetime as dt
import functools
import json
import re
from decimal import Decimal

from django.contrib import admin, messages
from django.contrib.admin import widgets
from django.contrib.admin.utils import flatten_fieldsets, lookup_spawns_duplicates, unquote
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Max, Min, Q
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.functional import cached_property
from django.utils.text import smart_split, unescape_string_literal
from simple_history.admin import SimpleHistoryAdmin


def object_or_404(queryset, object_id: str):
    """The row of ``queryset`` whose key is ``object_id`` as the admin's URLs carry it, or a
    404: also for a key that cannot be one (``abc``, ``1.5``, a digit of another script),
    which the database would otherwise refuse with a server error. ``get_object_or_404``
    hands the text to the query as it is."""
    key = key_or_404(queryset.model, object_id)
    try:
        return queryset.get(pk=key)
    except queryset.model.DoesNotExist:
        raise Http404(f"No {queryset.model._meta.verbose_name} has the key {key}.") from None


def key_or_404(model, object_id: str):
    """``object_id``, from a URL, as ``model``'s primary key; a 404 if it cannot be one."""
    try:
        return model._meta.pk.to_python(unquote(object_id))
    except ValidationError:
        raise Http404(f"“{object_id}” is not the key of a {model._meta.verbose_name}.") from None


class Estimate(int):
    """A number of rows read from PostgreSQL's statistics, not counted: it compares and
    pages as the number it is, and reads "about 1,000,000" wherever a page shows it (the
    list's total, "Select all", the search's result count)."""

    def __str__(self) -> str:
        return f"about {int(self):,}"


class EstimatedCountPaginator(Paginator):
    """A paginator that does not count a large number of rows one by one when counting
    them would be slow.

    On PostgreSQL, COUNT(*) reads every row it counts, on every visit of every page. So:

    - an unfiltered list of more than ``ESTIMATE_ABOVE`` rows takes the table's row count
      from its statistics (a million grants);
    - a filtered or searched list takes the planner's estimate of its rows when the
      planner expects more than ``ESTIMATE_ROWS_ABOVE`` rows and a count costlier than
      ``ESTIMATE_COST_ABOVE`` (its own units; 4 to 6 ms per 1,000 on the development
      machines), the cost of the count's own plan: the 960,000 grants still outstanding
      (90 ms to count), the 40,000 expired grants and the 90,000 exercises not awaiting
      payment (11 ms each). A count the planner expects to be cheap is exact, however
      many rows.

    An estimate reads "about 40,589 grants" on the page (``Estimate``), and a first page
    that holds every row is exact whatever the estimate (``FirstPageFirst``). SQLite
    counts exactly.
    """

    ESTIMATE_ABOVE = 100_000
    ESTIMATE_ROWS_ABOVE = 10_000
    ESTIMATE_COST_ABOVE = 1_000

    @cached_property
    def count(self):
        estimate = self.estimate()
        return super().count if estimate is None else Estimate(estimate)

    def estimate(self) -> int | None:
        """The estimate to show instead of a count, or None to count."""
        if connection.vendor != "postgresql":
            return None
        if self.object_list.query.where:
            # The rows' keys, without the page's joins and order; then the count of them,
            # whose plan can differ (an index-only scan: a count reads no column).
            keys = self.object_list.order_by().values("pk")
            rows = int(json.loads(keys.explain(format="json"))[0]["Plan"]["Plan Rows"])
            if rows <= self.ESTIMATE_ROWS_ABOVE:
                return None
            sql, params = keys.query.sql_with_params()
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (FORMAT JSON) SELECT COUNT(*) FROM ({sql}) AS k", params)
                plan = cursor.fetchone()[0]
            if isinstance(plan, str):  # psycopg returns the JSON decoded, or as text
                plan = json.loads(plan)
            return rows if float(plan[0]["Plan"]["Total Cost"]) > self.ESTIMATE_COST_ABOVE else None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [self.object_list.model._meta.db_table],
            )
            row = cursor.fetchone()
        return row[0] if row and row[0] > self.ESTIMATE_ABOVE else None


class FirstPageFirst(ChangeList):
    """A filtered or searched list that finds its first page before counting.

    Django counts the rows a filter or a search selects, then reads the page's rows: the
    search twice over, each a scan of a trigram index at a million grants (17 and 23 ms
    for one grant number). Here the first page's keys are read first, one more than the
    page holds: when they fit, they are the count, and the search ran once. The page's
    rows are then read by key. A list that does not fit one page is counted as before.
    Other pages, "Show all" and unfiltered lists are Django's (with the count of
    ``EstimatedCountPaginator``).
    """

    def get_results(self, request):
        if self.page_num != 1 or self.show_all or not self.queryset.query.where:
            return super().get_results(request)
        per_page = self.list_per_page
        keys = list(self.queryset.values_list("pk", flat=True)[: per_page + 1])
        paginator = self.model_admin.get_paginator(request, self.queryset, per_page)
        if len(keys) <= per_page:
            paginator.count = len(keys)  # a cached_property: the first page holds them all
        rows = self.root_queryset.filter(pk__in=keys[:per_page])
        if not rows.query.select_related:
            rows = self.apply_select_related(rows)
        self.result_count = paginator.count
        self.show_full_result_count = self.model_admin.show_full_result_count
        self.full_result_count = self.root_queryset.count() if self.show_full_result_count else None
        self.show_admin_actions = not self.show_full_result_count or bool(self.full_result_count)
        ordering = self.queryset.query.order_by  # never empty: the admin makes it total
        self.result_list = rows.order_by(*ordering) if ordering else rows
        self.can_show_all = self.result_count <= self.list_max_show_all
        self.multi_page = self.result_count > per_page
        self.paginator = paginator


class AutocompleteSelect(widgets.AutocompleteSelect):
    """Django's search-as-you-type select, except that a submitted value that is not a key
    (``abc`` where an id belongs, from an altered request) is shown as no choice instead
    of failing the whole page: the field's own "Select a valid choice" then says what is
    wrong."""

    def optgroups(self, name, value, attr=None):
        try:
            return super().optgroups(name, value, attr)
        except (ValueError, ValidationError):
            return super().optgroups(name, [], attr)


def grant_label(grant) -> str:
    """A grant as a choice names it: its number and whose it is."""
    return f"{grant.number} — {grant.optionee.legal_name}"


def optionee_label(optionee) -> str:
    """An optionee as a choice names them: the legal name, with the employee id if any."""
    if optionee.employee_id:
        return f"{optionee.legal_name} ({optionee.employee_id})"
    return optionee.legal_name


class LabelledAutocomplete(AutocompleteJsonView):
    """The admin's search-as-you-type, each choice labelled by its model admin's
    ``autocomplete_label`` when it has one, as the form's own choices are: a grant found by
    its holder's name shows whose it is, not its number alone."""

    def serialize_result(self, obj, to_field_name):
        result = super().serialize_result(obj, to_field_name)
        label = getattr(self.model_admin, "autocomplete_label", None)
        if label is not None:
            result["text"] = label(obj)
        return result


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


LOADED_VERSION = "_loaded_version"


def latest_version(obj) -> str:
    """The id of the row's newest history record: changes whenever the row is saved."""
    newest = obj.history.order_by("-history_id").values_list("history_id", flat=True).first()
    return str(newest or "")


# A search through a relation lists the related rows it found, up to this many; with more,
# it joins the tables as Django does (slower, never wrong).
SEARCH_IDS_AT_MOST = 1_000

# Three letters or digits in a row: the least a trigram index can look a word up by
# (pg_trgm splits the text at every other character, as this does).
_RUN = re.compile(r"[^\W_]{3,}")


def _contains(path: str, word: str) -> Q:
    """``path`` contains ``word``, as Django's ``icontains`` asks it. On PostgreSQL, when the
    word has other characters around its longest run of letters or digits, the condition
    also asks that the value contain that run alone, which it must if it contains the word:
    the same rows, found faster. "SYN-000999619" asks the numbers' trigram index for the
    trigrams of "SYN" and of the dash too, which every number of the book shares; beside
    "000999619" alone the index skips through those (16 ms down to 5 ms at a million
    grants)."""
    condition = Q(**{f"{path}__icontains": word})
    runs = _RUN.findall(word)
    if runs and connection.vendor == "postgresql":
        rarest = max(reversed(runs), key=len)  # of the longest, the last: a number's own part
        if rarest != word:
            # First: the index's scan is driven by the first condition's trigrams (the
            # other way round it took 17 ms, as the word alone does).
            condition = Q(**{f"{path}__icontains": rarest}) & condition
    return condition


def _search_condition(model, paths: list[str], word: str) -> tuple[Q, list[str]]:
    """Rows of ``model`` where any of ``paths`` (search fields, maybe through relations)
    contains ``word``, as a condition each table answers from its own indexes; and the
    paths that had to be joined instead.

    A word without three letters or digits in a row ("on", "1,") is one no index can look
    up: a related table would be read whole to find it (0.4 s for the grant numbers at a
    million grants, once for each such word of a notice's subject). It is joined instead,
    as Django does, so the rows the list reads are the only ones tested."""
    condition, joined = Q(), []
    through: dict[str, list[str]] = {}
    for path in paths:
        head, _, rest = path.partition("__")
        if rest:
            through.setdefault(head, []).append(rest)
        else:
            condition |= _contains(path, word)
    for head, rests in through.items():
        ids = None
        if _RUN.search(word):
            related = model._meta.get_field(head).related_model
            inner, inner_joined = _search_condition(related, rests, word)
            ids = list(
                related._default_manager.filter(inner)
                .order_by()
                .values_list("pk", flat=True)[: SEARCH_IDS_AT_MOST + 1]
            )
        if ids is None or len(ids) > SEARCH_IDS_AT_MOST:
            for rest in rests:
                condition |= _contains(f"{head}__{rest}", word)
            joined += [f"{head}__{rest}" for rest in rests]
        else:
            condition |= Q(**{f"{head}__in": ids})
            joined += [f"{head}__{path}" for path in inner_joined]
    return condition, joined


def few_found_first(queryset, condition: Q):
    """``queryset`` narrowed to ``condition``, a narrow one (grants expiring within 90
    days): its rows are found first by the condition alone, from its own index, and
    matched by key when there are at most ``SEARCH_IDS_AT_MOST``.

    Asked for the first page in grant-number order, PostgreSQL otherwise walks the
    numbers' index expecting matches spread among them, and reads every grant when the
    matches are few or none (197 ms at a million grants for "expiring within 90 days"
    with nothing due). With more matches than that, the condition is the query's, and the
    walk finds a page of them quickly."""
    keys = list(
        queryset.model._default_manager.filter(condition)
        .order_by()
        .values_list("pk", flat=True)[: SEARCH_IDS_AT_MOST + 1]
    )
    if len(keys) > SEARCH_IDS_AT_MOST:
        return queryset.filter(condition)
    return queryset.filter(pk__in=keys)


class YearsByProbe:
    """A queryset mixin for lists with a date hierarchy: on PostgreSQL, the years that have
    a row are found by one probe of the date's index a year, between the first and the last
    date, all in one query, instead of Django's DISTINCT over every row (26 ms over 90,000
    exercises). The same years, in the same order. SQLite cannot limit the parts of a
    UNION, and keeps Django's query.

    The first and last dates are those Django's date hierarchy has just asked this queryset
    for: an aggregate is kept on the queryset and not asked again."""

    MOST_YEARS_PROBED = 100  # one probe a year; beyond this, Django's DISTINCT

    def aggregate(self, *args, **kwargs):
        asked = repr((args, sorted(kwargs.items())))
        kept = self.__dict__.setdefault("_aggregates", {})
        if asked not in kept:
            kept[asked] = super().aggregate(*args, **kwargs)
        return dict(kept[asked])

    def dates(self, field_name, kind, order="ASC"):
        if kind != "year" or connection.vendor != "postgresql":
            return super().dates(field_name, kind, order)
        span = self.aggregate(first=Min(field_name), last=Max(field_name))
        if span["first"] is None:
            return []
        if span["last"].year - span["first"].year >= self.MOST_YEARS_PROBED:
            return super().dates(field_name, kind, order)  # a date mistyped by centuries
        probes = [
            self.filter(**{f"{field_name}__year": year})
            .order_by()
            .values_list(field_name, flat=True)[:1]
            for year in range(span["first"].year, span["last"].year + 1)
        ]
        found = probes[0].union(*probes[1:], all=True) if len(probes) > 1 else probes[0]
        years = sorted({dt.date(day.year, 1, 1) for day in found})
        return years if order == "ASC" else years[::-1]


@functools.cache
def _with_years_by_probe(queryset_class):
    return type(f"YearsByProbe{queryset_class.__name__}", (YearsByProbe, queryset_class), {})


class HistoryAdmin(SimpleHistoryAdmin):
    """A screen with its audit history, where only who may change a row may revert it.

    django-simple-history saves a POST to a past version's page ("Revert") for anyone who
    may *view* the row; here that needs the change permission on that row, so an auditor
    cannot revert and a row that only a verb may change cannot be reverted at all.
    The history list shows who, when, what, and from where (``grants.audit``).
    """

    history_list_display = ["history_source"]
    # Every list: a big table's unfiltered page takes PostgreSQL's row estimate, and a
    # search is not counted a second time against the whole table.
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    # No "Show counts" link beside the filters: Django's facets count the rows of every
    # choice of every filter on each visit, whole-table counts at a million grants.
    show_facets = admin.ShowFacets.NEVER
    # Fifty rows a page: the grant list, each row with its position by the rules, is drawn
    # afresh in about 40 ms at a million grants (docs/performance.md).
    list_per_page = 50

    def get_changelist(self, request, **kwargs):
        return FirstPageFirst

    def get_object(self, request, object_id, from_field=None):
        """The row a page shows, read once for the request when it only reads (GET): a
        change page that reads it for its own context, then through Django's view, asks
        twice (a grant with its facts: seven queries each time). A request that writes
        reads it afresh each time it asks."""
        if request.method not in ("GET", "HEAD"):
            return super().get_object(request, object_id, from_field)
        kept = request.__dict__.setdefault("_rows_read", {})
        key = (self.model, str(object_id), from_field)
        if key not in kept:
            kept[key] = super().get_object(request, object_id, from_field)
        return kept[key]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if self.date_hierarchy:  # its years, one probe of the index a year
            queryset.__class__ = _with_years_by_probe(queryset.__class__)
        return queryset

    def get_search_results(self, request, queryset, search_term):
        """Django's search (every word found in some search field), except that a field
        of a related table is looked up in that table first, by its own index (the
        trigram indexes of migration 0021 on PostgreSQL), and the rows found are matched
        by key. Django's one query joining the tables read every row of the book on each
        search: 1 s for a grant number at a million grants."""
        fields = list(self.get_search_fields(request))
        if not search_term or not fields or any(f.startswith(("^", "=", "@")) for f in fields):
            return super().get_search_results(request, queryset, search_term)
        duplicates = False
        for word in smart_split(search_term):
            if word.startswith(('"', "'")) and word[0] == word[-1]:
                word = unescape_string_literal(word)
            condition, joined = _search_condition(self.model, fields, word)
            queryset = queryset.filter(condition)
            duplicates = duplicates or any(lookup_spawns_duplicates(self.opts, p) for p in joined)
        return queryset, duplicates

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = AutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context[LOADED_VERSION.lstrip("_")] = latest_version(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        """Two administrators editing one row cannot silently overwrite each other.

        The change page carries the version of the row it showed; saving locks the row and
        refuses, with who changed it and when, if it has been saved since.
        """
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            return form

        class GuardedForm(form):
            def clean(self):
                cleaned = super().clean()
                loaded = self.data.get(LOADED_VERSION)
                if loaded is None or self.instance.pk is None:
                    return cleaned
                model = type(self.instance)
                # The admin saves inside a transaction: hold the row until this save commits.
                model.objects.select_for_update().filter(pk=self.instance.pk).exists()
                if loaded != latest_version(self.instance):
                    newest = self.instance.history.order_by("-history_id").first()
                    who = newest.history_user or "Someone"
                    raise ValidationError(
                        f"{who} changed this {model._meta.verbose_name} at "
                        f"{newest.history_date:%Y-%m-%d %H:%M} UTC after you opened it. "
                        f"Reload the page to see their change, then make yours again.",
                        code="stale_edit",
                    )
                return cleaned

        return GuardedForm

    def history_view(self, request, object_id, extra_context=None):
        key_or_404(self.model, object_id)  # django-simple-history queries with the text
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        key_or_404(self.model, object_id)
        key_or_404(self.model.history.model, version_id)
        if request.method == "POST":
            obj = self.get_object(request, unquote(object_id))
            if obj is None or not self.has_change_permission(request, obj):
                raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_readonly_fields(self, request, obj=None):
        """A row the user may not change shows every declared field read-only, on a past
        version's page too (the change page already does; the version page does not, and
        fails on a non-editable field such as ``created_at``)."""
        readonly = list(super().get_readonly_fields(request, obj))
        declared = flatten_fieldsets(self.fieldsets) if self.fieldsets else self.fields or []
        if obj is not None and not self.has_change_permission(request, obj):
            readonly += [name for name in declared if name not in readonly]
        return readonly


class EventAdmin(HistoryAdmin):
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


def user_may(request, action: str, model) -> bool:
    """Whether the signed-in user holds the ``action`` permission ("add", "change", ...) on
    ``model``: the gate of the screens that call a verb, whatever the ModelAdmin's own
    has_*_permission says about editing rows by hand."""
    opts = model._meta
    return request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")


def per_share(price) -> str:
    """A price per share as a person writes it: $4.10, but $2.9875 when it has more cents."""
    cents = price.quantize(Decimal("0.01"))
    return f"${cents if cents == price else price.normalize()}"


def verb_screen(request, model_admin, *, form, act, done, title, intro, next_url):
    """A page with one form whose valid submission calls one verb.

    ``act(cleaned_data)`` calls the verb and returns the message to show; a refusal is shown
    on the form, as the rule words it, and nothing is written.
    """
    if request.method == "POST" and form.is_valid():
        try:
            message = act(form.cleaned_data)
        except ValidationError as refused:
            form_error(form, refused)
        else:
            model_admin.message_user(request, message, messages.SUCCESS)
            return redirect(next_url)
    return render_admin_form(
        request,
        model_admin,
        title=title,
        form=form,
        template="admin/grants/optionee/verb_form.html",
        intro=intro,
        submit_label=done,
    )
