from django import forms

from .models import DialingMode, Provider


class LineForm(forms.Form):
    provider = forms.ChoiceField(
        choices=Provider.choices, widget=forms.RadioSelect, label="How calls are placed"
    )
    caller_id = forms.CharField(
        label="Caller ID",
        required=False,
        max_length=32,
        help_text="The number contacts see, e.g. 020 7946 0000. It must ring back to this line: "
        "point the number's voice address at the one this page shows once the line is saved.",
    )
    caller_name = forms.CharField(
        label="Who is calling",
        required=False,
        max_length=120,
        help_text="Said to people who ring back, e.g. “Riverside Labour Party”.",
    )
    base_url = forms.URLField(
        assume_scheme="https",
        label="Provider API address",
        required=False,
        initial="https://api.twilio.com",
        help_text="Twilio's, or a compatible provider's (SignalWire: https://YOUR-SPACE.signalwire.com/api/laml).",
    )
    account_sid = forms.CharField(label="Account id", required=False, max_length=64)
    token_variable = forms.CharField(
        label="Environment variable holding the auth token",
        required=False,
        max_length=64,
        initial="RINGROUND_TELEPHONY_TOKEN",
        help_text="The token itself is never stored in Ringround's database.",
    )
    ring_seconds = forms.IntegerField(
        label="Ring for (seconds)",
        min_value=15,
        max_value=60,
        initial=30,
        help_text="At least 15 seconds (Ofcom).",
    )

    @classmethod
    def for_line(cls, data, line, team):
        """The form filled with the line's settings (a new line: the team's name, own phones)."""
        if line is not None:
            initial = {name: getattr(line, name) for name in cls.base_fields}
        else:
            initial = {"provider": Provider.OWN_PHONE, "caller_name": team.name}
        return cls(data, initial=initial)


class DialingForm(forms.Form):
    connected = forms.BooleanField(
        label="Connect calls through the team's line",
        required=False,
        help_text="Volunteers' and contacts' numbers stay hidden from each other; contacts see "
        "the team's caller ID. Off: volunteers call from their own phones.",
    )
    mode = forms.ChoiceField(choices=DialingMode.choices, widget=forms.RadioSelect, label="Dialing")
