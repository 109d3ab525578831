import datetime as dt

from ringround.campaigns.models import Campaign


def test_calling_end_of_midnight_means_until_the_end_of_the_day():
    campaign = Campaign(
        calling_start=dt.time(0, 0), calling_end=dt.time(0, 0), calling_days="0123456"
    )
    late = dt.datetime(2027, 7, 1, 22, 59, 30, tzinfo=dt.UTC)  # 23:59:30 in London (BST)
    assert campaign.is_calling_time(late, "Europe/London")


def test_calling_end_is_exclusive():
    campaign = Campaign(
        calling_start=dt.time(9, 0), calling_end=dt.time(21, 0), calling_days="0123456"
    )
    assert not campaign.is_calling_time(
        dt.datetime(2027, 1, 5, 21, 0, tzinfo=dt.UTC), "Europe/London"
    )
    assert campaign.is_calling_time(dt.datetime(2027, 1, 5, 20, 59, tzinfo=dt.UTC), "Europe/London")
