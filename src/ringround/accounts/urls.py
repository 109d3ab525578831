from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("join/<str:token>/", views.join, name="join"),
    path("confirm/<str:token>/", views.confirm_email, name="verify_email"),
    path("account/", views.account, name="account"),
    path("invitations/<str:token>/", views.invitation, name="invitation"),
    path("teams/", views.teams, name="teams"),
    path("teams/<str:team_id>/", views.team, name="team"),
    path("teams/<str:team_id>/people/<int:member_id>/role/", views.team_role, name="team_role"),
    path(
        "teams/<str:team_id>/invitations/<int:invitation_id>/cancel/",
        views.team_invitation_cancel,
        name="team_invitation_cancel",
    ),
    path(
        "teams/<str:team_id>/people/<int:member_id>/remove/",
        views.team_remove,
        name="team_remove",
    ),
    path("sessions/<int:session_id>/end/", views.end_session, name="end_session"),
    path("2fa/setup/", views.two_factor_setup, name="2fa_setup"),
    path("2fa/verify/", views.two_factor_verify, name="2fa_verify"),
    path(
        "password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name="accounts/password_reset.html",
            email_template_name="accounts/password_reset_email.txt",
            subject_template_name="accounts/password_reset_subject.txt",
            success_url=reverse_lazy("accounts:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html",
            success_url=reverse_lazy("accounts:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="accounts/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]
