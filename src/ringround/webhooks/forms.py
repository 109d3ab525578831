import ipaddress
from functools import partial
from urllib.parse import urlsplit

from django import forms
from django.conf import settings

from .models import EVENTS, Endpoint


class EndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        choices=list(EVENTS.items()),
        widget=forms.CheckboxSelectMultiple,
        label="Send these events",
        error_messages={"required": "Choose at least one event to send."},
    )

    class Meta:
        model = Endpoint
        fields = ["url", "description", "events", "active"]
        labels = {"active": "On: send events to it"}
        field_classes = {"url": partial(forms.URLField, assume_scheme="https")}
        help_texts = {
            "url": "Where your system receives events, e.g. https://crm.example.org/ringround.",
            "description": "Optional: what it is, for the people who see this page.",
        }

    def __init__(self, *args, creating=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["url"].widget.attrs.update(
            {"placeholder": "https://", "autocomplete": "off", "inputmode": "url"}
        )
        if creating:
            del self.fields["active"]

    def clean_url(self):
        """http(s) only; an address that is plainly private refused here already (every
        address it resolves to is checked again each time it is sent to)."""
        url = self.cleaned_data["url"].strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise forms.ValidationError("Use an http:// or https:// URL.")
        if parts.username or parts.password:
            raise forms.ValidationError("Leave the user name and password out of the URL.")
        host = (parts.hostname or "").rstrip(".").lower()
        if not settings.RINGROUND_WEBHOOKS_ALLOW_PRIVATE and _plainly_private(host):
            raise forms.ValidationError(
                "This address is on a private network or this machine; use a public one."
            )
        return url


def _plainly_private(host: str) -> bool:
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return not ip.is_global
