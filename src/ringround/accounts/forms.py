from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from ringround.audit.services import client_ip

from .models import User
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
