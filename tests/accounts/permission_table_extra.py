"""The permission table's rows for the privacy, audit, import and API routes."""

ROLES = ["stranger", "volunteer", "other_volunteer", "organiser", "other_organiser", "admin"]
ANYONE = set(ROLES)
SIGNED_IN = ANYONE - {"stranger"}
ORGANISERS = {"organiser", "other_organiser", "admin"}
THIS_CAMPAIGNS_ORGANISER = {"organiser", "admin"}
THIS_CAMPAIGNS_VOLUNTEER = {"volunteer"}
THIS_CAMPAIGNS_PEOPLE = THIS_CAMPAIGNS_ORGANISER | THIS_CAMPAIGNS_VOLUNTEER
ADMIN = {"admin"}

MATRIX = {
    "privacy:search": ("get", ADMIN),
    "privacy:subject_access": ("post", ADMIN),
    "privacy:erase": ("get", ADMIN),
    "privacy:object": ("post", ADMIN),
    "audit:events": ("get", ADMIN),
    "audit:export": ("get", ADMIN),
}
