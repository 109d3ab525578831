from django import forms

from ringround.contacts.phones import InvalidPhone, normalise

from .models import NoObjection, Screening, TeamPolicy
from .services import POLICY_FIELDS

MAX_SCREENING_BYTES = 512 * 1024 * 1024  # a full TPS+CTPS file is a few hundred megabytes


class ScreeningForm(forms.Form):
    file = forms.FileField(
        label="TPS/CTPS file",
        help_text="As the TPS sends it to subscribers: one number per line (a full file), or "
        "each number with A (added) or D (deleted) for a daily change file.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt"}),
    )
    kind = forms.ChoiceField(
        choices=Screening.Kind.choices,
        widget=forms.RadioSelect,
        initial=Screening.Kind.FULL,
        label="Kind of file",
    )

    def clean_file(self):
        uploaded = self.cleaned_data["file"]
        if uploaded.size > MAX_SCREENING_BYTES:
            raise forms.ValidationError("The file is too big for a TPS/CTPS file.")
        return uploaded


class NoObjectionForm(forms.Form):
    phone = forms.CharField(
        max_length=64,
        label="Their number",
        help_text="Each of the team's contacts with this number is covered.",
    )
    how = forms.ChoiceField(choices=NoObjection.How.choices, label="How they told you")
    note = forms.CharField(
        max_length=500,
        required=False,
        label="Note",
        help_text="Optional, e.g. where the letter is kept.",
    )

    def clean_phone(self):
        try:
            return normalise(self.cleaned_data["phone"]).e164
        except InvalidPhone as exc:
            raise forms.ValidationError(f"That is {exc}.") from exc


class PolicyForm(forms.ModelForm):
    policy_document_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="Appropriate policy document",
        help_text="Where the team's document is kept (a web address).",
    )

    class Meta:
        model = TeamPolicy
        fields = list(POLICY_FIELDS)
        widgets = {
            name: forms.TimeInput(attrs={"type": "time"})
            for name in ("uk_weekday_start", "uk_weekday_end", "uk_weekend_start", "uk_weekend_end")
        }
        labels = {
            "frequency_days": "Days before calling someone again once spoken to",
            "uk_weekday_start": "UK numbers, Monday to Friday: from",
            "uk_weekday_end": "until",
            "uk_weekend_start": "UK numbers, Saturday and Sunday: from",
            "uk_weekend_end": "until",
            "opinion_retention_days": "Days to keep answers revealing political opinion",
        }
