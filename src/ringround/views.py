from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect

from ringround.accounts.permissions import is_organiser


def home(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if is_organiser(request.user):
        return redirect("campaigns:list")
    return redirect("calling:my_campaigns")


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True, "database": connection.vendor})
