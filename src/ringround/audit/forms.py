import datetime as dt

from django import forms
from django.utils import timezone


class AuditFilterForm(forms.Form):
    """Which audit events to show or export; every field is optional."""

    action = forms.CharField(
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"list": "known-actions"}),
        help_text="Exactly, or a prefix ending in a dot: <code>privacy.</code>",
    )
    actor = forms.CharField(required=False, max_length=254, label="Actor email")
    object_id = forms.CharField(required=False, max_length=64, label="Object id")
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To (inclusive)", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            raise forms.ValidationError("The start date is after the end date.")
        return data

    def filter(self, events):
        """The events matching the cleaned filters (call after ``is_valid()``)."""
        data = self.cleaned_data
        action = data.get("action", "").strip()
        if action.endswith("."):
            events = events.filter(action__startswith=action)
        elif action:
            events = events.filter(action=action)
        if data.get("actor", "").strip():
            events = events.filter(actor__email__iexact=data["actor"].strip())
        if data.get("object_id", "").strip():
            events = events.filter(object_id=data["object_id"].strip())
        if data.get("since"):
            events = events.filter(at__gte=_start_of(data["since"]))
        if data.get("until"):
            events = events.filter(at__lt=_start_of(data["until"] + dt.timedelta(days=1)))
        return events

    def used(self) -> dict:
        """The filters in force, as text, for the export's own audit event."""
        return {k: str(v) for k, v in self.cleaned_data.items() if v not in (None, "")}


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
