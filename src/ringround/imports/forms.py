from django import forms
from django.utils import timezone

from ringround.accounts.models import Team
from ringround.compliance.models import LawfulBasis, SourceKind
from ringround.compliance.services import check_source
from ringround.contacts.forms import ScopedForm
from ringround.contacts.models import Suppression

from .mapping import FIELDS
from .models import Import
from .services import REGISTER_NOT_ELECTORAL, SOURCE_FIELDS

COUNTRIES = [
    ("GB", "United Kingdom"),
    ("IE", "Ireland"),
    ("US", "United States"),
    ("CA", "Canada"),
    ("AU", "Australia"),
    ("NZ", "New Zealand"),
    ("FR", "France"),
    ("DE", "Germany"),
    ("ES", "Spain"),
    ("IT", "Italy"),
    ("NL", "Netherlands"),
    ("JE", "Jersey"),
    ("GG", "Guernsey"),
    ("IM", "Isle of Man"),
]


class ImportUploadForm(forms.Form):
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), empty_label=None, to_field_name="public_id"
    )
    file = forms.FileField(
        label="Contacts file",
        help_text="CSV (comma, semicolon or tab separated, any common encoding) or Excel .xlsx, "
        "with a header row naming the columns.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )
    default_country = forms.ChoiceField(
        choices=COUNTRIES,
        initial="GB",
        label="Country of numbers written without +code",
    )
    campaign = forms.ChoiceField(
        required=False, label="Add the contacts to a campaign", help_text="Optional."
    )
    tags = forms.CharField(
        required=False,
        max_length=200,
        label="Tag every contact with",
        help_text="Comma-separated, e.g. “members-2024, islington”. Optional.",
    )
    source_kind = forms.ChoiceField(
        choices=[("", "Choose…"), *SourceKind.choices], label="Where these people came from"
    )
    lawful_basis = forms.ChoiceField(
        choices=[("", "Choose…"), *LawfulBasis.choices],
        label="Lawful basis for using their data",
    )
    purpose = forms.CharField(
        max_length=500,
        label="Purpose",
        help_text="What the data is used for, e.g. “Members' ballot phone bank, June 2027”.",
    )
    destroy_by = forms.DateField(
        required=False,
        label="Destroy by (electoral register only)",
        help_text="The register may be used for electoral purposes only; its data is erased "
        "on this date.",
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, teams, campaigns=(), **kwargs):
        """``teams``: those the person imports for; ``campaigns``: those teams' campaigns."""
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams
        only = list(teams[:2])
        self.only_team = only[0] if len(only) == 1 else None
        if self.only_team is not None:
            self.fields["team"].widget = forms.HiddenInput()
            self.fields["team"].required = False
            self.initial["team"] = self.only_team.public_id
        several = len(only) > 1
        self.campaign_teams = {c.public_id: c.team_id for c in campaigns}
        self.electoral = {c.public_id for c in campaigns if c.electoral}
        self.fields["campaign"].choices = [("", "No campaign")] + [
            (c.public_id, f"{c.name} ({c.team.name})" if several else c.name) for c in campaigns
        ]

    def clean_team(self):
        return self.cleaned_data["team"] or self.only_team

    def clean(self):
        data = super().clean()
        team, campaign = data.get("team"), data.get("campaign")
        if team is not None and campaign and self.campaign_teams.get(campaign) != team.pk:
            self.add_error("campaign", "Choose one of this team's campaigns.")
        errors = check_source(
            kind=data.get("source_kind", ""),
            lawful_basis=data.get("lawful_basis", ""),
            purpose=data.get("purpose", ""),
            destroy_by=data.get("destroy_by"),
            today=timezone.now().date(),
        )
        for name, error in errors.items():
            if name not in self.errors:
                self.add_error(name, error)
        register = data.get("source_kind") == SourceKind.REGISTER
        if register and campaign and campaign not in self.electoral:
            self.add_error("campaign", REGISTER_NOT_ELECTORAL)
        return data

    def source(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in SOURCE_FIELDS}


class SuppressionUploadForm(ScopedForm):
    file = forms.FileField(
        label="Do-not-call file",
        help_text="One number per line (CSV or .xlsx; the first column with numbers is used). "
        "Any of the usual forms: 020 7946 0123, +44 20 7946 0123, 0044 …",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
    )
    reason = forms.ChoiceField(choices=Suppression.Reason.choices, initial="tps")
    default_country = forms.ChoiceField(choices=COUNTRIES, initial="GB", label="Country")


class MappingForm(forms.Form):
    """A field for each column of the file, the rule for repeated people, and a name to keep
    the mapping under."""

    repeats = forms.ChoiceField(
        choices=Import.Repeats.choices,
        widget=forms.RadioSelect,
        required=False,
        label="When a person appears twice (in the file, or already stored)",
    )
    save_as = forms.CharField(
        required=False,
        max_length=100,
        label="Save this mapping as",
        help_text="Optional: offered again for the next file with the same columns.",
    )

    def __init__(self, *args, headers=(), mapping=(), repeats=Import.Repeats.FILL_BLANKS, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["repeats"].initial = repeats
        self.columns = []
        for index, header in enumerate(headers):
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(
                choices=FIELDS,
                initial=mapping[index] if index < len(mapping) else "custom",
                label=header,
            )
            self.columns.append(name)

    def clean_repeats(self):
        return self.cleaned_data["repeats"] or self.fields["repeats"].initial

    def mapping(self) -> list[str]:
        return [self.cleaned_data[name] for name in self.columns]

    def column_fields(self):
        return [self[name] for name in self.columns]


class AddToCampaignForm(forms.Form):
    campaign = forms.ChoiceField(label="Campaign")
    which = forms.ChoiceField(
        choices=[
            ("import", "The contacts this import created"),
            ("tag", "Contacts with a tag"),
            ("area", "Contacts in an area"),
        ],
        widget=forms.RadioSelect,
        initial="import",
        label="Which contacts",
    )
    tag = forms.CharField(required=False, max_length=100)
    area = forms.CharField(required=False, max_length=150)

    def __init__(self, *args, campaigns=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].choices = [(c.public_id, c.name) for c in campaigns]

    def clean(self):
        data = super().clean()
        which = data.get("which")
        if which in ("tag", "area") and not data.get(which):
            self.add_error(which, f"Say which {which}.")
        return data
