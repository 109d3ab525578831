from django import forms

from .models import ContactInvite, RecruitmentPage, ShareKit


class PageForm(forms.ModelForm):
    class Meta:
        model = RecruitmentPage
        fields = ["published", "headline", "about", "ranking"]
        labels = {
            "published": "Publish the recruitment page (anyone with the address can see it)",
            "headline": "Headline",
            "about": "What the campaign is about",
            "ranking": "Leaderboards rank by",
        }
        widgets = {"about": forms.Textarea(attrs={"rows": 4})}


class KitForm(forms.ModelForm):
    image = forms.FileField(
        required=False,
        help_text="JPEG, PNG, WebP or GIF, at most 5 MB. Shown in link previews; resized "
        "and stripped of its metadata (camera, place).",
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )

    url = forms.URLField(
        required=False,
        assume_scheme="https",
        max_length=500,
        label="Link (optional)",
    )

    class Meta:
        model = ShareKit
        fields = ["title", "message", "url"]
        widgets = {"message": forms.Textarea(attrs={"rows": 3})}

    def clean_url(self):
        url = self.cleaned_data["url"]
        if url and not url.startswith("https://"):
            raise forms.ValidationError("Use an https:// address.")
        return url


class ContactInviteForm(forms.Form):
    lease_token = forms.CharField(max_length=200)
    channel = forms.ChoiceField(choices=ContactInvite.Channel.choices)
    consented = forms.BooleanField(required=False)
