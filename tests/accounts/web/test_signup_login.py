"""Local accounts through the whole Django stack: sign up, sign in, sign out, throttling, redirects, CSRF."""
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from accounts import throttle
from accounts.models import LoginThrottle

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


def signup(client, name, password=PASSWORD, again=None, email="", **extra):
    return client.post("/signup", {"username": name, "email": email, "password": password,
                                   "password_again": password if again is None else again, **extra})


def login(client, name, password=PASSWORD, **extra):
    return client.post("/login", {"username": name, "password": password, **extra})


def signed_in_as(client):
    return client.get("/").wsgi_request.actor.name


def test_sign_up_signs_in_and_the_first_account_is_the_site_admin(client):
    response = signup(client, "alice", email="alice@example.com")
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_as(client) == "alice"
    alice = get_user_model().objects.get(username="alice")
    assert alice.is_superuser and alice.is_staff and alice.email == "alice@example.com"
    assert alice.check_password(PASSWORD)

    other = Client()
    assert signup(other, "bob").status_code == 302
    bob = get_user_model().objects.get(username="bob")
    assert not bob.is_superuser and not bob.is_staff


@pytest.mark.parametrize("name, message", [
    ("settings", "reserved"), ("new", "reserved"), ("api", "reserved"), ("oauth", "reserved"),
    ("-alice", "invalid"), ("al ice", "invalid"), ("a" * 40, "invalid"), ("../x", "invalid"),
])
def test_sign_up_refuses_bad_and_reserved_names(client, name, message):
    response = signup(client, name)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not get_user_model().objects.exists()
    assert signed_in_as(client) == ""


def test_sign_up_refuses_a_name_taken_in_another_letter_case(client, make_user):
    make_user("Alice")
    response = signup(client, "aLICE")
    assert response.status_code == 400 and "taken" in response.content.decode()
    assert get_user_model().objects.count() == 1


@pytest.mark.parametrize("password, again, message", [
    (PASSWORD, "something else entirely", "differ"),
    ("short", "short", "too short"),
    ("password123", "password123", "too common"),
    ("12345678901", "12345678901", "entirely numeric"),
])
def test_sign_up_checks_the_password(client, password, again, message):
    response = signup(client, "alice", password=password, again=again)
    assert response.status_code == 400 and message in response.content.decode()
    assert not get_user_model().objects.exists()


def test_sign_up_form_keeps_what_was_typed_but_never_the_password(client):
    response = signup(client, "alice", password="short", email="a@example.com")
    html = response.content.decode()
    assert 'value="alice"' in html and 'value="a@example.com"' in html and "short" not in re.sub(
        r"<small[^>]*>.*?</small>|<span class=\"error\"[^>]*>.*?</span>", "", html)


def test_closed_sign_up_still_lets_the_first_account_in(client, settings):
    settings.FORGE_SIGNUP = "closed"
    assert signup(client, "root").status_code == 302
    stranger = Client()
    response = signup(stranger, "mallory")
    assert response.status_code == 403 and "closed" in response.content.decode()
    assert not get_user_model().objects.filter(username="mallory").exists()


def test_sign_in_and_out(client, make_user):
    make_user("alice", password=PASSWORD)
    assert client.get("/login").status_code == 200
    response = login(client, "ALICE")  # names are case-insensitive
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_as(client) == "alice"
    # A GET asks; only a POST signs out (a link elsewhere must not sign anyone out).
    assert client.get("/logout").status_code == 200
    assert signed_in_as(client) == "alice"
    assert client.post("/logout").status_code == 302
    assert signed_in_as(client) == ""


def test_wrong_password_and_unknown_user_get_the_same_answer(client, make_user):
    make_user("alice", password=PASSWORD)
    wrong = login(client, "alice", "not the password")
    unknown = login(client, "nobody", PASSWORD)
    assert wrong.status_code == unknown.status_code == 400
    assert "Wrong user name or password." in wrong.content.decode()
    assert "Wrong user name or password." in unknown.content.decode()
    assert signed_in_as(client) == ""


def test_an_account_without_a_password_cannot_sign_in_with_one(client, make_user):
    make_user("tokenonly")  # no password: tokens or GitHub only
    assert login(client, "tokenonly", "").status_code == 400
    assert login(client, "tokenonly", "!").status_code == 400


def test_inactive_accounts_cannot_sign_in(client, make_user):
    user = make_user("alice", password=PASSWORD)
    user.is_active = False
    user.save()
    assert login(client, "alice").status_code == 400


@pytest.mark.parametrize("target, expected", [
    ("/alice/repo?tab=1", "/alice/repo?tab=1"),
    ("//evil.example/x", "/"),
    ("https://evil.example/", "/"),
    ("http://testserver.evil.example/", "/"),
    ("javascript:alert(1)", "/"),
    ("/\\evil.example", "/"),
])
def test_next_only_leads_into_the_site(client, make_user, target, expected):
    make_user("alice", password=PASSWORD)
    response = login(client, "alice", next=target)
    assert response.status_code == 302 and response["Location"] == expected


def test_login_page_carries_next_into_its_form(client):
    html = client.get("/login?next=/alice/repo").content.decode()
    assert 'name="next" value="/alice/repo"' in html
    html = client.get("/login?next=https://evil.example/").content.decode()
    assert "evil.example" not in html


def test_repeated_failures_are_slowed_down_even_with_the_right_password(client, make_user):
    make_user("alice", password=PASSWORD)
    for _ in range(throttle.FREE_FAILURES["name"]):
        assert login(client, "alice", "guess").status_code == 400
    # The next attempt comes too soon after the last failure: refused before the password is checked.
    refused = login(client, "alice", PASSWORD)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert "Too many failed sign-ins" in refused.content.decode()
    assert signed_in_as(client) == ""
    # Another address trying the same name waits too: the count is per name as well as per address.
    elsewhere = Client(REMOTE_ADDR="198.51.100.7")
    assert login(elsewhere, "alice", PASSWORD).status_code == 429


def test_the_wait_doubles_caps_and_ends(make_user):
    now = timezone.now()
    for _ in range(throttle.FREE_FAILURES["name"]):
        throttle.record_failure("alice", "", now)
    assert throttle.check("alice", "", now).retry_after == 1
    throttle.record_failure("alice", "", now)
    assert throttle.check("alice", "", now).retry_after == 2
    for _ in range(30):
        throttle.record_failure("alice", "", now)
    assert throttle.check("alice", "", now).retry_after == 15 * 60
    assert throttle.check("alice", "", now + timedelta(minutes=15, seconds=1)) is None
    # A day later the count starts over.
    throttle.record_failure("alice", "", now + timedelta(days=2))
    assert LoginThrottle.objects.get(key="name:alice").failures == 1


def test_one_address_guessing_many_names_is_slowed_down(client, make_user):
    make_user("victim", password=PASSWORD)
    for i in range(throttle.FREE_FAILURES["addr"]):
        assert login(client, f"user{i}", "guess").status_code == 400
    assert login(client, "victim", PASSWORD).status_code == 429


def test_success_clears_the_names_count(client, make_user):
    make_user("alice", password=PASSWORD)
    for _ in range(throttle.FREE_FAILURES["name"] - 1):
        login(client, "alice", "guess")
    assert login(client, "alice").status_code == 302
    assert not LoginThrottle.objects.filter(key="name:alice").exists()


@pytest.mark.parametrize("path, data", [
    ("/signup", {"username": "alice", "password": PASSWORD, "password_again": PASSWORD}),
    ("/login", {"username": "alice", "password": PASSWORD}),
])
def test_forms_refuse_a_post_without_the_csrf_token(path, data):
    client = Client(enforce_csrf_checks=True)
    response = client.post(path, data)
    assert response.status_code == 403
    assert signed_in_as(client) == ""


def test_forms_work_with_the_csrf_token_from_the_page():
    client = Client(enforce_csrf_checks=True)
    page = client.get("/signup").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post("/signup", {"username": "alice", "password": PASSWORD, "password_again": PASSWORD,
                                       "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and signed_in_as(client) == "alice"


def test_sign_out_needs_the_csrf_token(client, make_user):
    make_user("alice", password=PASSWORD)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(get_user_model().objects.get(username="alice"))
    assert strict.post("/logout").status_code == 403
    assert signed_in_as(strict) == "alice"


def test_header_shows_account_links_to_people_and_sign_in_to_visitors(client, make_user):
    html = client.get("/").content.decode()
    assert 'href="/login' in html and 'href="/signup"' in html
    client.force_login(make_user("alice", password=PASSWORD))
    html = client.get("/").content.decode()
    assert 'href="/new"' in html and 'href="/settings"' in html and 'action="/logout"' in html
