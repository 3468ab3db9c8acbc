"""The key offer's forms: where the key ships to, and which vendor's code to claim."""

from django import forms

from bastion.keys.countries import COUNTRIES

BY_NAME = sorted(COUNTRIES.items(), key=lambda item: item[1].casefold())
COUNTRY_CHOICES = [("", "Choose a country"), *BY_NAME]


class CountryForm(forms.Form):
    country = forms.ChoiceField(
        label="Country your key ships to",
        choices=COUNTRY_CHOICES,
        help_text="Codes work only in some countries. Bastion does not store your answer.",
    )


class ClaimForm(forms.Form):
    country = forms.ChoiceField(choices=COUNTRY_CHOICES, widget=forms.HiddenInput)
    vendor = forms.CharField(max_length=64, widget=forms.HiddenInput)
