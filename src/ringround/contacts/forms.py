from django import forms

from ringround.accounts.models import Team

from .models import Suppression
from .phones import InvalidPhone, normalise

EVERY_TEAM = "every-team"


def suppression_scopes(user) -> list[tuple[str, str]]:
    """Whose list a number may go on: the person's teams, and for an admin every team's."""
    choices = [(team.public_id, team.name) for team in Team.objects.organised_by(user)]
    if user.is_superuser:
        choices.append((EVERY_TEAM, "Every team (TPS, objections)"))
    return choices


def scope_from(user, value: str) -> Team | None:
    """The team a scope names, ``None`` for every team; ``ValidationError`` if the person
    may not use it."""
    if value == EVERY_TEAM and user.is_superuser:
        return None
    team = Team.objects.organised_by(user).filter(public_id=value).first()
    if team is None:
        raise forms.ValidationError("Choose one of your teams.")
    return team


class ScopedForm(forms.Form):
    """A form for one of the person's teams (or, for an admin, every team)."""

    scope = forms.ChoiceField(label="For")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        choices = suppression_scopes(user)
        self.fields["scope"].choices = choices
        self.only_scope = choices[0][0] if len(choices) == 1 else None
        if self.only_scope is not None:
            self.fields["scope"].widget = forms.HiddenInput()
            self.fields["scope"].required = False
            self.initial["scope"] = self.only_scope

    def clean_scope(self):
        return scope_from(self.user, self.cleaned_data["scope"] or self.only_scope or "")


class SuppressionForm(ScopedForm):
    phone = forms.CharField(max_length=64, label="Number")
    reason = forms.ChoiceField(choices=Suppression.Reason.choices)
    note = forms.CharField(max_length=500, required=False)

    def clean_phone(self):
        try:
            return normalise(self.cleaned_data["phone"]).e164
        except InvalidPhone as exc:
            raise forms.ValidationError(f"That number cannot be used: {exc}.") from exc
