"""The organiser's session form: times typed in their own time zone (the page's script puts
the browser's zone in ``time_zone``; without it, the campaign's invite zone)."""

import datetime as dt
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone

from .models import PhoneBankSession

LOCAL = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class SessionForm(forms.ModelForm):
    starts_at = forms.DateTimeField(label="Starts", widget=LOCAL)
    ends_at = forms.DateTimeField(label="Ends", widget=LOCAL)
    time_zone = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    meeting_link = forms.URLField(
        required=False, max_length=500, assume_scheme="https", label="Video call or meeting link"
    )
    host = forms.ModelChoiceField(
        queryset=get_user_model().objects.none(),
        required=False,
        label="Host",
        empty_label="Someone else (type their name)",
    )

    class Meta:
        model = PhoneBankSession
        fields = ["title", "starts_at", "ends_at", "capacity", "meeting_link", "host", "host_name"]
        labels = {
            "title": "Name (optional)",
            "capacity": "Places",
            "host_name": "Host's name, if not an organiser",
        }

    def __init__(self, *args, campaign, **kwargs):
        instance = kwargs.get("instance")
        zone = instance.time_zone if instance else campaign.invite_time_zone
        super().__init__(*args, **kwargs)
        self.fallback_zone = zone or "Europe/London"
        self.initial["time_zone"] = self.fallback_zone
        if instance is not None:
            self.initial["starts_at"] = _naive(instance.starts_at, self.fallback_zone)
            self.initial["ends_at"] = _naive(instance.ends_at, self.fallback_zone)
            # The times are shown in the session's zone, so they are read back in it too
            # (the page's script leaves a fixed zone alone).
            self.fields["time_zone"].widget.attrs["data-fixed"] = "1"
        self.fields["host"].queryset = (
            get_user_model()
            .objects.filter(team_memberships__team=campaign.team)
            .order_by("name", "email")
        )
        self.fields["capacity"].widget.attrs.update(min=1, inputmode="numeric")
        self.fields["capacity"].initial = self.fields["capacity"].initial or 10

    def clean_time_zone(self):
        name = self.cleaned_data["time_zone"].strip()
        return name if name in available_timezones() else self.fallback_zone

    def clean_capacity(self):
        capacity = self.cleaned_data["capacity"]
        if capacity < 1:
            raise forms.ValidationError("At least one place.")
        return capacity

    def clean(self):
        cleaned = super().clean()
        zone = ZoneInfo(cleaned.get("time_zone") or self.fallback_zone)
        for name in ("starts_at", "ends_at"):
            moment = cleaned.get(name)
            if moment is not None:
                # Django made the typed time aware in the server's zone (UTC); it was meant
                # in the organiser's.
                cleaned[name] = timezone.make_naive(moment, dt.UTC).replace(tzinfo=zone)
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", "The session must end after it starts.")
        if not cleaned.get("host") and not cleaned.get("host_name", "").strip():
            self.add_error("host_name", "Choose an organiser or type the host's name.")
        return cleaned

    def session_fields(self) -> dict:
        """What the services store: the host either an organiser or a typed name."""
        data = {name: self.cleaned_data.get(name) for name in self.Meta.fields}
        data["time_zone"] = self.cleaned_data["time_zone"] or self.fallback_zone
        data["host_name"] = "" if data["host"] else data["host_name"].strip()
        return data


def _naive(moment, zone):
    return moment.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
