"""Who may see which campaign. Views fetch campaigns only through these, never by bare id.

A campaign someone may not see answers 404, so its existence is not given away."""

from django.http import Http404

from ringround import rawsql
from ringround.campaigns.models import Campaign, Membership

_MEMBERSHIP = rawsql.Columns(Membership, "m")
_CAMPAIGN = rawsql.Columns(Campaign, "c")
# Every calling request starts here, so it is one hand-written query (see rawsql.py).
_VOLUNTEER_CAMPAIGN = f"""
    SELECT {_MEMBERSHIP.sql}, {_CAMPAIGN.sql}
      FROM campaigns_membership m JOIN campaigns_campaign c ON c.id = m.campaign_id
     WHERE m.user_id = %s AND c.public_id = %s"""


def is_organiser(user) -> bool:
    return user.is_authenticated and (user.is_superuser or user.can_organise)


def campaign_for_organiser(user, public_id: str) -> Campaign:
    campaign = Campaign.objects.organised_by(user).filter(public_id=public_id).first()
    if campaign is None or not user.is_authenticated:
        raise Http404("No such campaign")
    return campaign


def campaign_for_volunteer(user, public_id: str) -> tuple[Campaign, Membership]:
    """The campaign and the volunteer's membership of it (active or suspended)."""
    if not user.is_authenticated:
        raise Http404("No such campaign")
    rows = rawsql.fetch(_VOLUNTEER_CAMPAIGN, [user.pk, public_id], _MEMBERSHIP, _CAMPAIGN)
    if not rows:
        raise Http404("No such campaign")
    membership, campaign = rows[0]
    membership.campaign = campaign
    return campaign, membership
