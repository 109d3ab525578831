"""``{% upcoming_sessions campaign user %}``: the sessions list for the brief and the invite
page, so those pages need only one line (and their views nothing)."""

from django import template

from ringround.campaigns.models import Membership

from .. import services

register = template.Library()


@register.inclusion_tag("phonebanks/_upcoming.html")
def upcoming_sessions(campaign, user=None):
    sessions = list(services.upcoming_sessions(campaign).select_related("host", "campaign"))
    can_sign_up = bool(
        user is not None
        and user.is_authenticated
        and Membership.objects.filter(campaign=campaign, user=user)
        .exclude(status=Membership.Status.SUSPENDED)
        .exists()
    )
    mine = services.places_of(user, sessions) if can_sign_up and sessions else set()
    return {"campaign": campaign, "sessions": sessions, "can_sign_up": can_sign_up, "mine": mine}
