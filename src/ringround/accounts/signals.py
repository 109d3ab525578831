from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import pre_save
from django.dispatch import receiver

from ringround.audit.services import client_ip, record_event

from .models import User, UserSession
from .services import count_login_failure


@receiver(user_logged_in)
def remember_session(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    if not request.session.session_key:
        request.session.save()
    UserSession.objects.update_or_create(
        session_key=request.session.session_key,
        defaults={
            "user": user,
            "ip_address": client_ip(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300],
        },
    )
    record_event(user, "account.login", user, request=request)


@receiver(user_login_failed)
def count_failure_from_address(sender, credentials, request=None, **kwargs):
    count_login_failure(client_ip(request))


@receiver(user_logged_out)
def forget_session(sender, request, user, **kwargs):
    if request is not None and getattr(request, "session", None) and request.session.session_key:
        UserSession.objects.filter(session_key=request.session.session_key).delete()


ROLE_FLAGS = ("is_superuser", "is_staff", "is_active")


@receiver(pre_save, sender=User)
def audit_role_change(sender, instance, raw=False, **kwargs):
    """Any change to what a person may do is an audit event, wherever it was made (a restore
    loading a backup is not a change)."""
    if raw or not instance.pk:
        return
    before = User.objects.filter(pk=instance.pk).values(*ROLE_FLAGS).first()
    if before is None:
        return
    changed = {f: getattr(instance, f) for f in ROLE_FLAGS if before[f] != getattr(instance, f)}
    if changed:
        record_event(None, "permission.change", instance, **changed)
