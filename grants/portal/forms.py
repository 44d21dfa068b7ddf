"""Forms of the optionee portal. They collect input; the model methods apply the rules."""

from __future__ import annotations

import secrets

from django import forms
from django.core.exceptions import ValidationError

from grants.models import Exercise


class ExerciseForm(forms.Form):
    """A notice of exercise (paragraph 6a): how many shares and how the price is paid."""

    shares = forms.CharField(
        label="Number of shares",
        max_length=20,
        help_text="Whole shares only.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    payment_method = forms.ChoiceField(
        label="Payment of the exercise price",
        choices=Exercise.PaymentMethod.choices,
        widget=forms.RadioSelect,
        help_text=(
            "Cash or check: the exercise is made when the company receives the full price. "
            "Regulation T program: this notice makes the exercise; your broker pays the "
            "company before the shares are issued."
        ),
    )
    submission_key = forms.CharField(
        widget=forms.HiddenInput, max_length=Exercise._meta.get_field("submission_key").max_length
    )

    def __init__(self, *args, grant, user, at, **kwargs):
        super().__init__(*args, **kwargs)
        self.grant, self.user, self.at = grant, user, at
        # Only the ways of paying the grant's agreement form allows.
        allowed = grant.terms.payment_methods
        field = self.fields["payment_method"]
        field.choices = [(v, label) for v, label in Exercise.PaymentMethod.choices if v in allowed]
        if "net" in allowed:
            field.help_text += (
                " Net exercise: shares worth the price at the exercise date's closing price "
                "(rounded up to whole shares) are withheld, and you receive the rest."
            )
        if not self.is_bound:
            self.initial.setdefault("submission_key", secrets.token_urlsafe(24))
        self.preview = None

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.preview = self.grant.preview_exercise(
                cleaned["shares"], self.at, payment_method=cleaned["payment_method"], by=self.user
            )
        except ValidationError as refused:
            field = "shares" if refused.code in SHARE_CODES else None
            self.add_error(field, refused)
        return cleaned

    def submit(self) -> Exercise:
        """Record the exercise; the same form submitted again returns the same exercise."""
        return self.grant.request_exercise(
            self.cleaned_data["shares"],
            self.at,
            payment_method=self.cleaned_data["payment_method"],
            by=self.user,
            submission_key=self.cleaned_data["submission_key"],
        )


SHARE_CODES = {
    "shares_not_a_number",
    "fractional_shares",
    "shares_not_positive",
    "more_than_exercisable",
    "below_minimum",
    "nothing_exercisable",
}


class NoticeAddressForm(forms.Form):
    """A written notice designating a new address for notices (paragraph 9)."""

    address = forms.CharField(
        label="New address for notices",
        widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "street-address"}),
        max_length=1000,
        help_text="Your full postal address, as it should appear on an envelope.",
    )

    def clean_address(self):
        address = self.cleaned_data["address"].strip()
        if len(address.splitlines()) < 2:
            raise ValidationError(
                "Give the full postal address on separate lines: name or street, then city, "
                "state and ZIP code."
            )
        return address


class AcknowledgementForm(forms.Form):
    receipt = forms.BooleanField(
        label=(
            "I acknowledge receipt of the option grant and the attachments referenced in it, "
            "and understand that all rights and liabilities with respect to this option are "
            "set forth in the option grant and the Plan."
        )
    )
    entire_understanding = forms.BooleanField(
        label=(
            "I acknowledge that as of the date of grant, the option grant sets forth the "
            "entire understanding between me and the company and its affiliates regarding "
            "the acquisition of its stock, and supersedes all prior oral and written "
            "agreements on that subject."
        )
    )
