from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect, render
from django.urls import reverse

from ringround.campaigns import services as campaign_services
from ringround.campaigns.services import CampaignError

from . import services
from .forms import LoginForm, SignupForm


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


def join(request, token):
    """The invite link: sign up (or log in), then join the campaign and read its brief."""
    try:
        campaign = campaign_services.campaign_for_invite(token)
    except CampaignError as exc:
        return render(request, "accounts/invite_invalid.html", {"reason": str(exc)}, status=404)
    if request.user.is_authenticated:
        if request.method == "POST":
            campaign_services.join_campaign(campaign, request.user, token=token, request=request)
            return redirect("calling:brief", campaign.public_id)
        return render(request, "accounts/join_confirm.html", {"campaign": campaign})
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = services.sign_up(
            name=form.cleaned_data["name"],
            email=form.cleaned_data["email"],
            password=form.cleaned_data["password"],
            request=request,
        )
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        campaign_services.join_campaign(campaign, user, token=token, request=request)
        messages.success(request, f"Welcome, {user.name}! You have joined {campaign.name}.")
        return redirect("calling:brief", campaign.public_id)
    login_url = f"{reverse('accounts:login')}?next={request.path}"
    return render(
        request, "accounts/join.html", {"campaign": campaign, "form": form, "login_url": login_url}
    )
