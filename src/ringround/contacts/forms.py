from django import forms

from .models import Suppression
from .phones import InvalidPhone, normalise


class SuppressionForm(forms.Form):
    phone = forms.CharField(max_length=64, label="Number")
    reason = forms.ChoiceField(choices=Suppression.Reason.choices)
    note = forms.CharField(max_length=500, required=False)

    def clean_phone(self):
        try:
            return normalise(self.cleaned_data["phone"]).e164
        except InvalidPhone as exc:
            raise forms.ValidationError(f"That number cannot be used: {exc}.") from exc
