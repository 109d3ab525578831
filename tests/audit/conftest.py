import pytest

from tests.factories import UserFactory


@pytest.fixture
def admin_user(db):
    return UserFactory(is_superuser=True, is_staff=True, email="ada@example.org")
