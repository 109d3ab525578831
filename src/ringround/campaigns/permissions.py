"""Who may see which campaign. Views fetch campaigns only through these, never by bare id.

A campaign someone may not see answers 404, so its existence is not given away."""

from django.http import Http404

from ringround import rawsql
from ringround.compliance.models import TeamPolicy

from .models import Campaign, Membership, OutcomeCode, Question

_MEMBERSHIP = rawsql.Columns(Membership, "m")
_CAMPAIGN = rawsql.Columns(Campaign, "c")
_OUTCOME = rawsql.Columns(OutcomeCode, "o")
_QUESTION = rawsql.Columns(Question, "q")
_POLICY = rawsql.Columns(TeamPolicy, "p")
_MEMBER_OF = f"""
      FROM "{Membership._meta.db_table}" m JOIN "{Campaign._meta.db_table}" c ON c.id = m.campaign_id
      LEFT JOIN "{TeamPolicy._meta.db_table}" p ON p.team_id = c.team_id"""
# Every calling request starts here, so it is one hand-written query (see rawsql.py).
_VOLUNTEER_CAMPAIGN = f"""
    SELECT {_MEMBERSHIP.sql}, {_CAMPAIGN.sql}, {_POLICY.sql} {_MEMBER_OF}
     WHERE m.user_id = %s AND c.public_id = %s"""
_VOLUNTEER_CAMPAIGN_AND_OUTCOME = f"""
    SELECT {_MEMBERSHIP.sql}, {_CAMPAIGN.sql}, {_POLICY.sql}, {_OUTCOME.sql}, {_QUESTION.sql}
      {_MEMBER_OF}
      LEFT JOIN "{OutcomeCode._meta.db_table}" o ON o.campaign_id = c.id AND o.code = %s
      LEFT JOIN "{Question._meta.db_table}" q
        ON q.campaign_id = c.id AND o.follow_up = '{OutcomeCode.FollowUp.SURVEY.value}'
     WHERE m.user_id = %s AND c.public_id = %s
     ORDER BY q.position, q.id"""


def campaign_for_organiser(user, public_id: str) -> Campaign:
    campaign = Campaign.objects.organised_by(user).filter(public_id=public_id).first()
    if campaign is None or not user.is_authenticated:
        raise Http404("No such campaign")
    return campaign


def campaign_for_volunteer(user, public_id: str) -> tuple[Campaign, Membership]:
    """The campaign and the volunteer's membership of it (active or suspended)."""
    [(membership, campaign, _)] = _volunteer_rows(
        user, _VOLUNTEER_CAMPAIGN, [user.pk, public_id], _MEMBERSHIP, _CAMPAIGN, _POLICY
    )
    return campaign, membership


def campaign_and_outcome_for_volunteer(
    user, public_id: str, outcome_code: str
) -> tuple[Campaign, Membership, OutcomeCode | None, list[Question]]:
    """``campaign_for_volunteer``, and in the same query what recording a call with this
    outcome needs: the outcome (``None`` if the campaign has none of that code) and, if the
    survey follows it, the survey's questions in order."""
    rows = _volunteer_rows(
        user,
        _VOLUNTEER_CAMPAIGN_AND_OUTCOME,
        [outcome_code, user.pk, public_id],
        *(_MEMBERSHIP, _CAMPAIGN, _POLICY, _OUTCOME, _QUESTION),
        repeated=4,
    )
    membership, campaign, _, outcome, _ = rows[0]
    return campaign, membership, outcome, [row[4] for row in rows if row[4] is not None]


def _volunteer_rows(user, sql, params, *columns, repeated=0) -> list[tuple]:
    """The query's rows, membership, campaign and the team's compliance settings first (those
    remembered as the campaign's: ``TeamPolicy.of_campaign``); 404 if the user is not a member."""
    if not user.is_authenticated:
        raise Http404("No such campaign")
    rows = rawsql.fetch(sql, params, *columns, repeated=repeated)
    if not rows:
        raise Http404("No such campaign")
    membership, campaign, policy = rows[0][:3]
    membership.campaign = campaign
    (policy or TeamPolicy(team_id=campaign.team_id)).read_with(campaign)
    return rows
