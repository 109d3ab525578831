from django.contrib import admin
from django.urls import include, path

from . import views
from .api.urls import api

urlpatterns = [
    path("api/v1/", api.urls),  # first: the calling loop's requests resolve without a walk
    path("", views.home, name="home"),
    path("", include("ringround.sharing.urls")),  # /s/<code>: the tracked links' fast path
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon),
    path("accounts/", include("ringround.accounts.urls")),
    path("accounts/teams/", include("ringround.webhooks.urls")),
    path("campaigns/", include("ringround.campaigns.urls")),
    path("campaigns/", include("ringround.reports.urls")),
    path("contacts/", include("ringround.contacts.urls")),
    path("contacts/imports/", include("ringround.imports.urls")),
    path("call/", include("ringround.calling.urls")),
    path("", include("ringround.telephony.urls")),
    path("", include("ringround.phonebanks.urls")),
    path("privacy/", include("ringround.privacy.urls")),
    path("compliance/", include("ringround.compliance.urls")),
    path("audit/", include("ringround.audit.urls")),
    path("admin/", admin.site.urls),
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.page_not_found
handler500 = views.server_error
