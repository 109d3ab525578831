"""Creating people."""

from django.db import transaction

from ringround.audit.services import record_event

from .models import User


@transaction.atomic
def sign_up(*, name: str, email: str, password: str, request=None) -> User:
    user = User.objects.create_user(email=email, password=password, name=name)
    record_event(user, "account.sign_up", user, request=request)
    return user
