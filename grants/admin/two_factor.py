"""The back office's second factor: after the password, the code of an authenticator app.

Switched on by ``ADMIN_REQUIRE_2FA``. The password step stays the admin's own sign-in
page, which django-axes throttles. A staff member who has passed it but not this step is
sent here by the admin site (``EquityAdminSite.login``): to ``verify`` with the code of
their confirmed device, or, with no device yet, to ``enrol`` one (a new secret, shown as a
QR code and as text, confirmed with a first code). django-otp checks the codes (TOTP,
RFC 6238), refuses a code already used and throttles wrong ones: after each failure the
device refuses every code, right or wrong, for twice as long as after the one before.
The optionee portal never asks for a second factor.
"""

from __future__ import annotations

from base64 import b32encode
from functools import partial, wraps

import django_otp
import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.forms import OTPTokenForm
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "Authenticator app"


def awaiting_second_factor(user) -> bool:
    """Signed in with a password as active staff, but not yet verified by a device."""
    return (
        settings.ADMIN_REQUIRE_2FA
        and user.is_active
        and user.is_staff
        and not getattr(user, "is_verified", lambda: False)()
    )


def confirmed_devices(user) -> list[TOTPDevice]:
    return list(TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("pk"))


def next_step(request, site) -> HttpResponseRedirect:
    """Where a staff member awaiting the second factor goes: the code, or enrolment."""
    name = "otp_verify" if confirmed_devices(request.user) else "otp_enrol"
    url = reverse(f"admin:{name}", current_app=site.name)
    return HttpResponseRedirect(f"{url}?{urlencode({REDIRECT_FIELD_NAME: _next(request, site)})}")


def _next(request, site) -> str:
    """The page asked for, if it is on this site; else the back office's index."""
    wanted = request.POST.get(REDIRECT_FIELD_NAME, request.GET.get(REDIRECT_FIELD_NAME, ""))
    safe = url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return wanted if safe else reverse("admin:index", current_app=site.name)


class CodeForm(OTPTokenForm):
    """The current code of one of the user's devices. django-otp verifies it and counts a
    wrong code toward the device's throttling."""

    otp_error_messages = {
        **OTPTokenForm.otp_error_messages,
        "token_required": "Enter the 6-digit code your authenticator app shows.",
        "invalid_token": (
            "That code is not right. Enter the 6-digit code your authenticator app shows "
            "now (codes change every 30 seconds and each works once)."
        ),
        "n_failed_attempts": (
            "Too many wrong codes (%(failure_count)d in a row): wait a few seconds, then "
            "enter the code your app shows now."
        ),
        "device_required": "Choose the device that shows your code.",
    }

    def __init__(self, user, devices: list[TOTPDevice], *args, **kwargs):
        super().__init__(user, None, *args, **kwargs)
        device = self.fields["otp_device"]
        device.label = "Device"
        device.choices = [(d.persistent_id, d.name) for d in devices]
        if len(devices) == 1:
            # Nothing to choose: the one device, whatever the request says.
            device.initial = devices[0].persistent_id
            device.disabled = True
            device.widget = forms.HiddenInput()


def second_step(view):
    """Guard of both pages: only for active staff who still owe the second factor.

    Anyone else goes to the admin's sign-in page (not signed in, or not staff) or on to
    the page they asked for (verified already, or no second factor required).
    """

    @wraps(view)
    def guarded(request, *, site):
        user = request.user
        if not (user.is_active and user.is_staff):
            login = reverse("admin:login", current_app=site.name)
            return redirect_to_login(request.get_full_path(), login)
        if not awaiting_second_factor(user):
            return HttpResponseRedirect(_next(request, site))
        return view(request, site=site)

    return never_cache(sensitive_post_parameters("otp_token")(guarded))


def _verified(request, site, device) -> HttpResponseRedirect:
    # A new session key for the raised privilege, as at sign-in.
    request.session.cycle_key()
    django_otp.login(request, device)
    return HttpResponseRedirect(_next(request, site))


def _render(request, site, template: str, context: dict) -> TemplateResponse:
    request.current_app = site.name
    return TemplateResponse(
        request,
        template,
        {
            **site.each_context(request),
            "next": _next(request, site),
            "username": request.user.get_username(),
            **context,
        },
    )


@second_step
def verify(request, *, site):
    devices = confirmed_devices(request.user)
    if not devices:
        return next_step(request, site)
    form = CodeForm(request.user, devices, data=request.POST if request.method == "POST" else None)
    if form.is_valid():
        return _verified(request, site, form.get_user().otp_device)
    return _render(
        request, site, "admin/otp_verify.html", {"title": "Enter your code", "form": form}
    )


@second_step
def enrol(request, *, site):
    if confirmed_devices(request.user):
        return next_step(request, site)
    # One pending device per person, so the secret shown stays the same until confirmed.
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name=DEVICE_NAME, confirmed=False)
    form = CodeForm(request.user, [device], data=request.POST if request.method == "POST" else None)
    if form.is_valid():
        device = form.get_user().otp_device  # the row just verified, its last code recorded
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        return _verified(request, site, device)
    return _render(
        request,
        site,
        "admin/otp_enrol.html",
        {
            "title": "Set up your authenticator app",
            "form": form,
            "secret": secret_text(device),
            "config_url": device.config_url,
            "qr_code": qr_code_svg(device.config_url),
        },
    )


def secret_text(device: TOTPDevice) -> str:
    """The secret as authenticator apps take it typed in: base32, in groups of four."""
    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_code_svg(data: str) -> str:
    """The QR code of ``data`` as inline SVG, drawn here: nothing is fetched from elsewhere."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathFillImage)
    return mark_safe(image.to_string(encoding="unicode"))  # our own drawing, no user text


def urls(site) -> list:
    return [
        path("verify/", partial(verify, site=site), name="otp_verify"),
        path("enrol/", partial(enrol, site=site), name="otp_enrol"),
    ]
