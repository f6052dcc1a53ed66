import pytest
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from accounts.selectors import get_user
from accounts.services import create_user

pytestmark = pytest.mark.django_db


def test_create_user_makes_an_ordinary_account():
    user = create_user("alice", email="alice@example.com", password="correct horse battery")
    assert user.check_password("correct horse battery")
    assert not user.is_staff and not user.is_superuser


def test_admin_flag_makes_a_site_admin():
    user = create_user("root-1", admin=True)
    assert user.is_staff and user.is_superuser
    assert not user.has_usable_password()


@pytest.mark.parametrize(
    "name",
    ["", "-alice", "al ice", "alice_b", "a" * 40, "ålice", "alice.b", "login", "Settings", "API", "favicon.ico", "-"],
)
def test_bad_or_reserved_names_are_refused(name):
    with pytest.raises(ValueError):
        create_user(name)


def test_names_are_unique_ignoring_case():
    create_user("alice")
    with pytest.raises(ValueError, match="taken"):
        create_user("ALICE")
    assert get_user("aLiCe").username == "alice"
    assert get_user("bob") is None


def test_the_database_refuses_names_differing_only_in_case():
    User.objects.create(username="carol")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="Carol")


def test_bad_email_is_refused():
    with pytest.raises(ValueError, match="email"):
        create_user("dave", email="not-an-address")
