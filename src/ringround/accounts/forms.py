from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from ringround.audit.services import client_ip

from .models import TeamMember, User
from .services import too_many_login_failures


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def clean(self):
        if too_many_login_failures(client_ip(self.request)):
            raise forms.ValidationError(
                "Too many failed sign-ins from your network. Wait a quarter of an hour and try "
                "again, or reset your password.",
                code="throttled",
            )
        return super().clean()


class SignupForm(forms.ModelForm):
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )

    class Meta:
        model = User
        fields = ["name", "email"]
        widgets = {"email": forms.EmailInput(attrs={"autocomplete": "email"})}

    def validate_unique(self):
        """Whether the email has an account is never said here: the invite sign-up answers
        the same either way (``campaigns.services.sign_up_by_invite``)."""

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            probe = User(email=cleaned.get("email", ""), name=cleaned.get("name", ""))
            try:
                password_validation.validate_password(password, probe)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class InviteOrganiserForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=TeamMember.Role.choices, initial=TeamMember.Role.ORGANISER)


class NewAccountForm(forms.Form):
    """An account for the address an invitation was sent to: only a name and a password."""

    name = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )

    def __init__(self, *args, email, **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            probe = User(email=self.email, name=cleaned.get("name", ""))
            try:
                password_validation.validate_password(password, probe)
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return cleaned


class TeamRoleForm(forms.Form):
    role = forms.ChoiceField(choices=TeamMember.Role.choices)


class TeamForm(forms.Form):
    name = forms.CharField(max_length=200, label="Team name")
    first_admin = forms.EmailField(
        required=False,
        label="Team admin's email (optional)",
        help_text="Someone with an account already; you can invite people once it exists.",
    )

    def clean_first_admin(self):
        email = self.cleaned_data["first_admin"].strip().lower()
        if not email:
            return None
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise forms.ValidationError(
                "No account with this email yet: create the team, then invite them from its page."
            )
        return user
