"""Who may see which campaign. Views fetch campaigns only through these, never by bare id.

A campaign someone may not see answers 404, so its existence is not given away."""

from django.http import Http404

from ringround.campaigns.models import Campaign, Membership


def is_organiser(user) -> bool:
    return user.is_authenticated and (user.is_superuser or user.can_organise)


def campaign_for_organiser(user, public_id: str) -> Campaign:
    campaign = Campaign.objects.organised_by(user).filter(public_id=public_id).first()
    if campaign is None or not user.is_authenticated:
        raise Http404("No such campaign")
    return campaign


def campaign_for_volunteer(user, public_id: str) -> tuple[Campaign, Membership]:
    membership = (
        Membership.objects.select_related("campaign")
        .filter(user=user, campaign__public_id=public_id)
        .first()
    )
    if membership is None:
        raise Http404("No such campaign")
    return membership.campaign, membership
