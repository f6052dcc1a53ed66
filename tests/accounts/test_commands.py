"""adduser and addtoken, as CONTRACT.md specifies their arguments and output."""
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from accounts.models import AgentToken
from accounts.tokens import authenticate_token
from tests.support import pg

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TOKEN_LINE = re.compile(r"forge_[A-Za-z0-9_-]{43}\n")


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_adduser_prints_nothing_and_creates_the_account():
    assert run("adduser", "alice", "--email", "alice@example.com", "--password", "s3cret-words") == ("", "")
    alice = User.objects.get(username="alice")
    assert alice.email == "alice@example.com"
    assert alice.check_password("s3cret-words")
    assert not alice.is_superuser


@pytest.mark.django_db
def test_adduser_admin():
    run("adduser", "boss", "--admin")
    boss = User.objects.get(username="boss")
    assert boss.is_staff and boss.is_superuser


@pytest.mark.django_db
def test_adduser_refuses_a_taken_or_bad_name():
    run("adduser", "alice")
    with pytest.raises(CommandError, match="taken"):
        run("adduser", "Alice")
    with pytest.raises(CommandError, match="reserved"):
        run("adduser", "login")


@pytest.mark.django_db
def test_addtoken_prints_the_token_alone_with_default_scopes():
    run("adduser", "alice")
    out, err = run("addtoken", "alice", "--label", "laptop")
    assert TOKEN_LINE.fullmatch(out)
    assert err == ""
    token = authenticate_token(out.strip())
    assert token.user.username == "alice"
    assert token.label == "laptop"
    assert token.scopes == "repo:read repo:write"
    assert token.expires_at is None


@pytest.mark.django_db
def test_addtoken_scopes_and_expiry():
    run("adduser", "alice")
    out, _ = run("addtoken", "ALICE", "--label", "bot", "--scopes", "issues:write,pulls:merge", "--expires-days", "7")
    token = AgentToken.objects.get()
    assert token.scope_set == {"issues:write", "pulls:merge"}
    assert (token.expires_at - token.created_at).days == 7


@pytest.mark.django_db
def test_addtoken_errors():
    run("adduser", "alice")
    with pytest.raises(CommandError, match="no user"):
        run("addtoken", "nobody", "--label", "x")
    with pytest.raises(CommandError, match="unknown scope"):
        run("addtoken", "alice", "--label", "x", "--scopes", "repo:everything")
    with pytest.raises(CommandError):
        run("addtoken", "alice")  # --label is required
    assert not AgentToken.objects.exists()


def test_commands_through_manage_py(tmp_path):
    """The real entry point, in its own data directory: exit codes, stdout and stderr exactly."""
    env = {key: value for key, value in os.environ.items() if key != "FORGE_DATABASE_URL"}
    env["FORGE_DATA_DIR"] = str(tmp_path / "data")
    if pg.enabled():  # the PostgreSQL pass: a database of its own, as each live server gets
        env["FORGE_DATABASE_URL"] = pg.new_server_database(env)

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
        )

    assert manage("migrate", "--noinput", "--verbosity", "0").returncode == 0

    added = manage("adduser", "alice")
    assert (added.returncode, added.stdout, added.stderr) == (0, "", "")

    token = manage("addtoken", "alice", "--label", "ci")
    assert token.returncode == 0
    assert TOKEN_LINE.fullmatch(token.stdout)
    assert token.stderr == ""

    repo = manage("createrepo", "alice/project", "--private", "--description", "a test")
    assert (repo.returncode, repo.stdout, repo.stderr) == (0, "", "")

    refused = manage("addtoken", "nobody", "--label", "ci")
    assert refused.returncode != 0
    assert refused.stdout == ""
    assert "no user" in refused.stderr

    assert (tmp_path / "data" / "forge.sqlite3").exists() != pg.enabled()
