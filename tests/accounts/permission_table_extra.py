"""Who may use a route (the role sets, shared with test_permission_matrix), and the permission
table's rows for the privacy, audit, import and API routes."""

ROLES = [
    "stranger",
    "volunteer",
    "other_volunteer",
    "organiser",
    "team_admin",
    "other_team_organiser",
    "admin",
]
ANYONE = set(ROLES)
SIGNED_IN = ANYONE - {"stranger"}
ORGANISERS = {"organiser", "team_admin", "other_team_organiser", "admin"}
# The campaign's team (its organisers and team admins) and the admins.
THIS_CAMPAIGNS_ORGANISER = {"organiser", "team_admin", "admin"}
THIS_TEAMS_ADMINS = {"team_admin", "admin"}
THIS_CAMPAIGNS_VOLUNTEER = {"volunteer"}
THIS_CAMPAIGNS_PEOPLE = THIS_CAMPAIGNS_ORGANISER | THIS_CAMPAIGNS_VOLUNTEER
ADMIN = {"admin"}

MATRIX = {
    "contacts:suppression_import": ("post", ORGANISERS),
    "imports:imports": ("get", ORGANISERS),
    "imports:import": ("get", THIS_CAMPAIGNS_ORGANISER),
    "imports:import_check": ("post", THIS_CAMPAIGNS_ORGANISER),
    "imports:import_progress": ("get", THIS_CAMPAIGNS_ORGANISER),
    "imports:import_rejected": ("get", THIS_CAMPAIGNS_ORGANISER),
    "imports:import_resume": ("post", THIS_CAMPAIGNS_ORGANISER),
    "imports:import_targets": ("post", THIS_CAMPAIGNS_ORGANISER),
    "privacy:search": ("get", ADMIN),
    "privacy:subject_access": ("post", ADMIN),
    "privacy:erase": ("get", ADMIN),
    "privacy:object": ("post", ADMIN),
    "audit:events": ("get", ADMIN),
    "audit:export": ("get", ADMIN),
    # The API answers 401 to a stranger, 403/404 to a signed-in person without the role.
    "api-v1:health": ("get", ANYONE),
    "api-v1:openapi-json": ("get", ANYONE),
    "api-v1:openapi-view": ("get", ANYONE),
    "api-v1:list_campaigns": ("get", SIGNED_IN),
    "api-v1:campaign_detail": ("get", THIS_CAMPAIGNS_PEOPLE),
    "api-v1:campaign_stats": ("get", THIS_CAMPAIGNS_ORGANISER),
    "api-v1:claim": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    "api-v1:record_outcome": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    "api-v1:release": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    "api-v1:heartbeat": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    # A team's webhooks: its organisers and team admins, and admins (another team's: 404).
    "webhooks:endpoints": ("get", THIS_CAMPAIGNS_ORGANISER),
    "webhooks:endpoint": ("get", THIS_CAMPAIGNS_ORGANISER),
    "webhooks:endpoint_delete": ("get", THIS_CAMPAIGNS_ORGANISER),
    "webhooks:endpoint_secret": ("post", THIS_CAMPAIGNS_ORGANISER),
    "webhooks:endpoint_ping": ("post", THIS_CAMPAIGNS_ORGANISER),
    "webhooks:delivery": ("get", THIS_CAMPAIGNS_ORGANISER),
    "webhooks:delivery_replay": ("post", THIS_CAMPAIGNS_ORGANISER),
    # Telephony: the provider's callbacks are nobody's (signed by the line's secret, or refused).
    "telephony:seat_answer": ("post", set()),
    "telephony:seat_status": ("post", set()),
    "telephony:leg_answer": ("post", set()),
    "telephony:leg_status": ("post", set()),
    "telephony:inbound": ("post", set()),
    "telephony:inbound_key": ("post", set()),
    "telephony:inbound_message": ("post", set()),
    "telephony:join": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    "telephony:leave": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    "telephony:dial": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    "telephony:hang_up": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    "telephony:line_status": ("get", THIS_CAMPAIGNS_VOLUNTEER),
    "telephony:team_line": ("get", THIS_CAMPAIGNS_ORGANISER),
    "telephony:campaign_dialing": ("get", THIS_CAMPAIGNS_ORGANISER),
    # Sharing: the recruitment page, its sign-up and tracked links are public; a share
    # button is its volunteer's own; a kit's picture is public (link previews fetch it).
    "sharing:page": ("get", ANYONE),
    "sharing:sign_up": ("post", ANYONE),
    "sharing:join": ("post", SIGNED_IN),
    "sharing:follow": ("get", ANYONE),
    "sharing:image": ("get", ANYONE),
    "sharing:share": ("get", THIS_CAMPAIGNS_VOLUNTEER),
    "sharing:volunteer": ("get", THIS_CAMPAIGNS_VOLUNTEER),
    "sharing:hide_name": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    "sharing:invite_contact": ("post", THIS_CAMPAIGNS_VOLUNTEER),
    "sharing:organiser": ("get", THIS_CAMPAIGNS_ORGANISER),
    "sharing:recruits": ("get", THIS_CAMPAIGNS_ORGANISER),
    "sharing:withdraw": ("post", THIS_CAMPAIGNS_ORGANISER),
    # A team's compliance records: its organisers and team admins, and admins (another
    # team's: 404); its settings (Article 9 condition, hours, limits): its admins.
    "compliance:page": ("get", THIS_CAMPAIGNS_ORGANISER),
    "compliance:screening": ("post", THIS_CAMPAIGNS_ORGANISER),
    "compliance:no_objection": ("post", THIS_CAMPAIGNS_ORGANISER),
    "compliance:record": ("get", THIS_CAMPAIGNS_ORGANISER),
    "compliance:settings": ("get", THIS_TEAMS_ADMINS),
}
