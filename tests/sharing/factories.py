"""The sharing pages' ids, as the permission table's URLs name them."""

from ringround.sharing import services
from tests.sharing.helpers import png_upload


def sharing_ids(campaign, volunteer) -> dict:
    """Publish the campaign's page, make a kit with a picture and the volunteer's link."""
    services.save_page(campaign, by=None, published=True)
    kit = services.create_kit(campaign, title="Kit", message="Share me", image=png_upload((40, 20)))
    link = services.link_for(campaign, volunteer, kit)
    return {"code": link.code, "network": "x", "name": kit.image, "kit_id": kit.public_id}
