"""``{% momentum campaign user %}`` (the brief and the summary: the campaign-wide counter,
the volunteer's badges, a way to the sharing page) and ``{% card_momentum campaign lease %}``
(the card: the counter, and inviting a contact who would help), so that the calling pages
need one line each and their views nothing."""

from django import template

from ringround.calling.services import spoken_duration

from .. import momentum

register = template.Library()


@register.inclusion_tag("sharing/_momentum.html")
def momentum_panel(campaign, user):
    return {
        "campaign": campaign,
        "counter": momentum.counter(campaign),
        "badges": momentum.badges_of(campaign, user) if user.is_authenticated else [],
    }


@register.inclusion_tag("sharing/_card_momentum.html", takes_context=True)
def card_momentum(context, campaign, lease, card=None):
    return {
        "campaign": campaign,
        "lease": lease,
        "card": card or {},
        "counter": momentum.counter(campaign),
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def spoken(seconds) -> str:
    """Seconds on calls as people say them: ``42 s``, ``3 min``, ``1 h 05 min``."""
    return spoken_duration(int(seconds or 0))
