import datetime as dt
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.utils import timezone

from .models import VISIBLE_FIELD_CHOICES, Campaign, OutcomeCode, Question

WEEKDAYS = [
    ("0", "Mon"),
    ("1", "Tue"),
    ("2", "Wed"),
    ("3", "Thu"),
    ("4", "Fri"),
    ("5", "Sat"),
    ("6", "Sun"),
]


class CampaignForm(forms.ModelForm):
    calling_days = forms.MultipleChoiceField(
        choices=WEEKDAYS, widget=forms.CheckboxSelectMultiple, initial=[d for d, _ in WEEKDAYS]
    )
    visible_fields = forms.MultipleChoiceField(
        choices=VISIBLE_FIELD_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        label="What volunteers see of each contact",
        help_text="The number is always shown as a tap-to-dial link when chosen.",
    )

    class Meta:
        model = Campaign
        fields = [
            "name",
            "brief",
            "calling_start",
            "calling_end",
            "calling_days",
            "lease_minutes",
            "max_attempts",
            "claims_per_hour",
            "joining",
            "contacts_per_hour",
            "visible_fields",
            "target_tags",
            "target_areas",
            "electoral",
        ]
        widgets = {
            "calling_start": forms.TimeInput(attrs={"type": "time"}),
            "calling_end": forms.TimeInput(attrs={"type": "time"}),
            "brief": forms.Textarea(attrs={"rows": 4}),
        }
        labels = {
            "electoral": "An electoral campaign (for an election or referendum)",
            "name": "Name",
            "brief": "Brief",
            "calling_start": "Calls from (contact's local time)",
            "calling_end": "Calls until (contact's local time; 00:00 means midnight)",
            "lease_minutes": (
                "How long a volunteer keeps a contact before it goes back to the list (minutes)"
            ),
            "max_attempts": "Times each contact may be tried",
            "claims_per_hour": "Contacts one volunteer may take in an hour",
            "joining": "How volunteers join through the invite link",
            "contacts_per_hour": "Contacts all volunteers together may take in an hour",
            "target_tags": "Call contacts with any of these tags (comma-separated)",
            "target_areas": "…in any of these areas (comma-separated; empty: all areas)",
        }
        help_texts = {
            "brief": "What volunteers read before they start calling.",
            "calling_start": (
                "Each person is called in their own time zone's hours: a New York number in "
                "New York hours."
            ),
            "calling_end": "",
            "lease_minutes": (
                "Nobody else is given that person meanwhile. If the volunteer records nothing "
                "in time, the contact goes back to the list for someone else. 10 suits most "
                "calls."
            ),
            "max_attempts": (
                "Counting every try (no answer, busy, voicemail…). After that the contact is "
                "not called again for this campaign."
            ),
            "claims_per_hour": (
                "A volunteer asking for more than this in an hour is told to slow down: it "
                "stops someone collecting numbers instead of calling."
            ),
            "contacts_per_hour": (
                "A ceiling for the whole campaign. Leave it empty and Ringround works it out "
                "from how many volunteers have had real conversations lately."
            ),
            "joining": "You can change this at any time; people already calling are not affected.",
            "target_tags": "Empty: every contact of the team, whatever their tags.",
            "target_areas": "Constituencies, wards or districts, as in your imported lists.",
        }

    def __init__(self, *args, teams=None, **kwargs):
        """``teams``: on a new campaign, the teams it may be for (chosen only if several)."""
        super().__init__(*args, **kwargs)
        if teams is not None:
            self.fields["team"] = forms.ModelChoiceField(
                queryset=teams, empty_label=None, label="Team", to_field_name="public_id"
            )
            only = list(teams[:2])
            self.only_team = only[0] if len(only) == 1 else None
            if self.only_team is not None:
                self.fields["team"].widget = forms.HiddenInput()
                self.fields["team"].required = False
                self.initial["team"] = self.only_team.public_id
            self.order_fields(["team"])
        if self.instance.pk:
            self.initial["calling_days"] = list(self.instance.calling_days)
            self.initial["visible_fields"] = self.instance.fields_for_volunteer()
        else:
            self.initial.setdefault("visible_fields", ["first_name", "last_name", "area", "phone"])
        self.fields["contacts_per_hour"].widget.attrs.update(min=1)
        self.fields["lease_minutes"].min_value = 1
        self.fields["lease_minutes"].widget.attrs.update(min=1, max=120)

    def clean_team(self):
        return self.cleaned_data["team"] or self.only_team

    def clean_calling_days(self):
        return "".join(sorted(self.cleaned_data["calling_days"]))

    def clean_lease_minutes(self):
        minutes = self.cleaned_data["lease_minutes"]
        if not 1 <= minutes <= 120:
            raise forms.ValidationError("Between 1 and 120 minutes.")
        return minutes

    def clean_contacts_per_hour(self):
        value = self.cleaned_data["contacts_per_hour"]
        if value is not None and value < 1:
            raise forms.ValidationError("At least 1, or empty to let Ringround work it out.")
        return value

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("calling_start"), cleaned.get("calling_end")
        if start and end and start >= end and end != dt.time(0, 0):
            self.add_error("calling_end", "Calling must end after it starts.")
        return cleaned


class ScriptForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ["script"]
        widgets = {"script": forms.Textarea(attrs={"rows": 12})}


class QuestionForm(forms.ModelForm):
    choices_text = forms.CharField(
        label="Choices (one per line)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For single and multiple choice questions.",
    )

    class Meta:
        model = Question
        fields = ["text", "kind", "required", "reveals_opinion"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["choices_text"] = "\n".join(self.instance.choices or [])

    def clean(self):
        cleaned = super().clean()
        choices = [
            c.strip()[:200] for c in cleaned.get("choices_text", "").splitlines() if c.strip()
        ]
        if cleaned.get("kind") in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
            if len(choices) < 2:
                self.add_error("choices_text", "Give at least two choices.")
            if len(choices) > 30:
                self.add_error("choices_text", "At most 30 choices.")
        cleaned["choices"] = list(dict.fromkeys(choices))
        return cleaned

    def save(self, commit=True):
        self.instance.choices = (
            self.cleaned_data["choices"]
            if self.instance.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE)
            else []
        )
        return super().save(commit)


class OutcomeCodeForm(forms.ModelForm):
    class Meta:
        model = OutcomeCode
        fields = [
            "label",
            "code",
            "is_conversation",
            "follow_up",
            "retry_after_minutes",
            "max_attempts",
            "suppresses",
        ]
        labels = {
            "is_conversation": "Reached the person (counts as a conversation)",
            "follow_up": "Then the volunteer fills in",
            "retry_after_minutes": "Retry after (minutes)",
            "max_attempts": "At most this many attempts",
        }

    def __init__(self, *args, campaign=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign = campaign
        self.fields["follow_up"].required = False  # not given: nothing follows

    def clean_follow_up(self):
        return self.cleaned_data.get("follow_up") or OutcomeCode.FollowUp.NOTHING

    def clean_code(self):
        code = self.cleaned_data["code"]
        clash = OutcomeCode.objects.filter(campaign=self.campaign, code=code).exclude(
            pk=self.instance.pk
        )
        if clash.exists():
            raise forms.ValidationError("This campaign already has an outcome with that code.")
        return code

    def clean_max_attempts(self):
        value = self.cleaned_data["max_attempts"]
        if not 1 <= value <= 20:
            raise forms.ValidationError("Between 1 and 20.")
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("follow_up") == OutcomeCode.FollowUp.SURVEY and not cleaned.get(
            "is_conversation"
        ):
            self.add_error(
                "follow_up", "The survey follows only an outcome where the person was reached."
            )
        return cleaned


DEFAULT_TIME_ZONE = "Europe/London"


class InviteForm(forms.Form):
    """The invite link's expiry, typed in the organiser's own time zone: the page's script
    puts the browser's zone in ``time_zone``; without it, the zone last used (at first
    Europe/London). The page says which zone it is."""

    expires_at = forms.DateTimeField(
        required=False,
        label="Link stops working at (empty: never)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    time_zone = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, campaign, **kwargs):
        zone = campaign.invite_time_zone or DEFAULT_TIME_ZONE
        local = campaign.invite_expires_local()
        initial = {"expires_at": local and local.replace(tzinfo=None), "time_zone": zone}
        super().__init__(*args, initial=initial, **kwargs)
        self.fallback_zone = zone
        self.fields["expires_at"].widget.attrs["data-utc"] = (
            campaign.invite_expires_at.isoformat() if campaign.invite_expires_at else ""
        )

    def clean_time_zone(self):
        name = self.cleaned_data["time_zone"].strip()
        return name if name in available_timezones() else self.fallback_zone

    def clean(self):
        cleaned = super().clean()
        moment = cleaned.get("expires_at")
        if moment is not None:
            # Django made the typed time aware in the server's zone (UTC): it was meant in
            # the organiser's.
            naive = timezone.make_naive(moment, dt.UTC)
            cleaned["expires_at"] = naive.replace(tzinfo=ZoneInfo(cleaned["time_zone"]))
        return cleaned
