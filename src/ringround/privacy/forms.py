from django import forms

from . import services


class SearchForm(forms.Form):
    query = forms.CharField(
        label="Phone number or email address",
        max_length=254,
        help_text="Any form of the number will do: 07700 900123, +44 7700 900123 …",
    )

    def clean_query(self):
        try:
            return services.parse_search(self.cleaned_data["query"])
        except services.PrivacyError as exc:
            raise forms.ValidationError(str(exc)) from exc


class ObjectionForm(forms.Form):
    phone = forms.CharField(max_length=64)

    def clean_phone(self):
        try:
            return services.e164_or_error(self.cleaned_data["phone"])
        except services.PrivacyError as exc:
            raise forms.ValidationError(str(exc)) from exc


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label="I understand this person's personal data will be gone for good.",
        error_messages={"required": "Tick the box to confirm the erasure."},
    )
