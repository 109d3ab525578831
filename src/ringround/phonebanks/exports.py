"""The sessions export, offered on the exports page (``reports.exports.register_export``):
one row per session, with who signed up and who gave up their place."""

from django.db.models import Count, Q

from ringround.reports.exports import Table

from .models import PhoneBankSession

HEADER = [
    "Session",
    "Starts (UTC)",
    "Ends (UTC)",
    "Time zone",
    "Host",
    "Places",
    "Coming",
    "Gave up their place",
    "Cancelled at (UTC)",
]


def sessions_table(campaign) -> Table:
    sessions = (
        PhoneBankSession.objects.filter(campaign=campaign)
        .select_related("host")
        .annotate(
            coming=Count("sign_ups", filter=Q(sign_ups__cancelled_at=None)),
            gave_up=Count("sign_ups", filter=~Q(sign_ups__cancelled_at=None)),
        )
        .order_by("starts_at", "pk")
    )

    def rows():
        for s in sessions:
            yield [
                s.title or s.public_id,
                s.starts_at.strftime("%Y-%m-%d %H:%M"),
                s.ends_at.strftime("%Y-%m-%d %H:%M"),
                s.time_zone,
                s.host.name if s.host else s.host_name,
                s.capacity,
                s.coming,
                s.gave_up,
                s.cancelled_at.strftime("%Y-%m-%d %H:%M") if s.cancelled_at else "",
            ]

    return Table(header=list(HEADER), total=sessions.count(), rows=rows())
