"""The pull request pages through the whole middleware stack with Django's test client, on a
repository made by real git and landed in a store as a push lands it. Merges are checked in the
store (the base branch's new tip, its parents and files) and against what real git says."""
import os

import pytest
from django.test import Client

from issues import pulls, reviews
from issues.models import Issue, PullRequest, Review, ReviewComment
from repos.selectors import store_path
from repos.store import RepoStore
from repos.store.browse import read_blob
from tests.issues.conftest import actor_named
from tests.repos.store.helpers import mirror
from tests.support.gitcli import git, out

BASE = "/alice/proj/pulls"
LINES = "".join(f"line {n}\n" for n in range(1, 13))


@pytest.fixture(scope="session")
def branches_git(tmp_path_factory):
    """main, and from its first commit: feature (two commits, clean), clash (conflicts with main)."""
    work = tmp_path_factory.mktemp("pulls-src")
    git("init", "-q", "-b", "main", work)
    (work / "file.txt").write_text(LINES)
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "first")
    git("-C", work, "checkout", "-q", "-b", "feature")
    (work / "file.txt").write_text(LINES.replace("line 2\n", "line 2 changed\n"))
    git("-C", work, "commit", "-q", "-am", "Change line 2")
    (work / "new.txt").write_text("a new file\n")
    git("-C", work, "add", "-A")
    git("-C", work, "commit", "-q", "-m", "Add new.txt\n\nWith a body.")
    git("-C", work, "checkout", "-q", "-b", "clash", "main")
    (work / "file.txt").write_text(LINES.replace("line 11\n", "line 11 from clash\n"))
    git("-C", work, "commit", "-q", "-am", "Clash on line 11")
    git("-C", work, "checkout", "-q", "main")
    (work / "file.txt").write_text(LINES.replace("line 11\n", "line 11 from main\n"))
    git("-C", work, "commit", "-q", "-am", "Main changes line 11")
    bare = tmp_path_factory.mktemp("pulls-bare") / "branches.git"
    git("clone", "-q", "--bare", work, bare)
    return bare


@pytest.fixture
def proj(people, branches_git, tmp_path):
    """alice/proj (and alice/secret) holding branches_git instead of the issue tests' history."""
    for name in ("proj", "secret"):
        target = store_path(people[name])
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(f"{target}{suffix}"):
                os.remove(f"{target}{suffix}")
        with RepoStore.create(target) as store:
            (tmp_path / name).mkdir()
            mirror(store, tmp_path / name, branches_git)
            store.set_head("refs/heads/main")
    return people["proj"]


def tip(repo, branch):
    with RepoStore.open(store_path(repo)) as store:
        return store.ref(f"refs/heads/{branch}")


def file_at(repo, branch, path):
    with RepoStore.open(store_path(repo)) as store:
        return read_blob(store, tip(repo, branch), path)[1].decode()


def open_pull(people, head="feature", who="reader", repo="proj"):
    return pulls.open_pull_request(actor_named(people, who), people[repo], "main", head, f"Merge {head}", "Please")


def client_for(people, name, **options):
    client = Client(**options)
    client.force_login(people[name])
    return client


def token_for(people, scopes):
    from accounts.tokens import issue_token
    return issue_token(people["carol"], label="t-" + "-".join(scopes), scopes=scopes)[1]


# --- pages render ---------------------------------------------------------------------------------------------------

def test_open_from_the_compare_page(people, proj):
    client = client_for(people, "bob")
    compare = client.get("/alice/proj/compare/main...feature").content.decode()
    assert 'action="/alice/proj/pulls/new"' in compare and 'value="feature"' in compare
    form = client.get(BASE + "/new", {"base": "main", "head": "feature"})
    page = form.content.decode()
    assert form.status_code == 200
    assert 'value="Add new.txt"' in page                       # title: the head's last commit subject
    assert "Change line 2" in page and "new.txt" in page and "2 commits" in page
    assert '<option value="main" selected>' in page
    response = client.post(BASE + "/new", {"base": "main", "head": "feature", "title": "Add things", "body": "**b**"})
    assert response.status_code == 302 and response["Location"] == BASE + "/1"
    pull = PullRequest.objects.get()
    assert (pull.base_ref, pull.head_ref, pull.issue.title) == ("main", "feature", "Add things")
    assert "Opened pull request #1." in client.get(response["Location"]).content.decode()


def test_new_form_shows_errors_again(people, proj):
    client = client_for(people, "bob")
    open_pull(people)
    response = client.post(BASE + "/new", {"base": "main", "head": "feature", "title": "again", "body": "kept"})
    assert response.status_code == 400 and "already open: #1" in response.content.decode()
    assert "kept</textarea>" in response.content.decode()
    response = client.post(BASE + "/new", {"base": "main", "head": "clash", "title": " ", "body": ""})
    assert response.status_code == 400 and "A title is required." in response.content.decode()
    assert Issue.objects.count() == 1
    assert Client().get(BASE + "/new")["Location"].startswith("/login?")


def test_list_detail_commits_and_files_render(people, proj):
    open_pull(people)
    clash = open_pull(people, "clash")
    pulls.merge_pull_request(actor_named(people, "owner"), PullRequest.objects.get(issue__number=1))
    listing = Client().get(BASE).content.decode()
    assert "1 Open" in listing and "1 Closed" in listing and "Merge clash" in listing
    closed = Client().get(BASE + "?state=closed").content.decode()
    assert "Merge feature" in closed and "merged" in closed and "<code class=\"branch\">feature</code>" in closed
    detail = Client().get(f"{BASE}/{clash.number}").content.decode()
    assert "wants to merge 1 commit into" in detail and "<code>clash</code>" in detail and ">Open</span>" in detail
    assert "Please" in detail
    merged = Client().get(f"{BASE}/1").content.decode()
    assert ">Merged</span>" in merged and "merged 2 commits into" in merged
    assert f'/commit/{tip(proj, "main").hex()}' in merged and "alice" in merged
    commits = Client().get(f"{BASE}/1/commits").content.decode()
    assert "Change line 2" in commits and "Add new.txt" in commits and "Main changes" not in commits
    files = Client().get(f"{BASE}/1/files").content.decode()
    assert "line 2 changed" in files and "a new file" in files and "line 11 from main" not in files
    assert "2 files changed" in files
    md = Client().get(f"{BASE}/1?format=md").content.decode()
    assert md.startswith("# Merge feature (pull request #1, merged)")
    for page in ("", "/commits", "/files"):
        assert Client().get(f"{BASE}/1{page}?format=md").status_code == 200
    assert Client().get(f"{BASE}?format=md").status_code == 200
    assert Client().get(f"{BASE}/9").status_code == 404


def test_an_issue_number_is_not_a_pull_request(people, proj):
    from issues.services import create_issue
    create_issue(actor_named(people, "owner"), proj, "just an issue")
    assert Client().get(f"{BASE}/1").status_code == 404
    open_pull(people)
    assert Client().get("/alice/proj/issues/2")["Location"] == f"{BASE}/2"


# --- merging --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_merge_by_each_method_moves_the_base(people, proj, method):
    pull = open_pull(people).pull
    before, head = tip(proj, "main"), tip(proj, "feature")
    client = client_for(people, "alice")
    page = client.get(f"{BASE}/1").content.decode()
    assert "This branch has no conflicts" in page and f'name="sha" value="{head.hex()}"' in page
    response = client.post(f"{BASE}/1/merge", {"method": method, "sha": head.hex()})
    assert response.status_code == 302 and response["Location"] == f"{BASE}/1"
    after = tip(proj, "main")
    assert after != before
    assert file_at(proj, "main", "file.txt") == LINES.replace("line 2\n", "line 2 changed\n").replace(
        "line 11\n", "line 11 from main\n")
    assert file_at(proj, "main", "new.txt") == "a new file\n"
    with RepoStore.open(store_path(proj)) as store:
        node = store.graph.node(after)
        if method == "merge":
            assert node.parents == (before, head)
        elif method == "squash":
            assert node.parents == (before,)
        else:
            assert store.graph.node(node.parents[0]).parents == (before,)
    pull.refresh_from_db()
    assert pull.is_merged and pull.merge_method == method and pull.merge_commit_oid == after.hex()
    assert Issue.objects.get(number=1).state == Issue.CLOSED
    shown = client.get(response["Location"]).content.decode()
    assert "Merged pull request #1" in shown or "merged pull request #1" in shown
    assert ">Merged</span>" in shown and "merged this into" in shown
    assert tip(proj, "feature") == head                         # kept: delete_branch was not asked


def test_merge_with_message_and_branch_deletion(people, proj):
    open_pull(people)
    head = tip(proj, "feature")
    client = client_for(people, "carol")
    response = client.post(f"{BASE}/1/merge", {"method": "squash", "sha": head.hex(), "message": "Squashed!",
                                               "delete_branch": "on"})
    assert response.status_code == 302
    assert tip(proj, "feature") is None
    assert out("--version")  # real git is present; the message is checked in the store
    with RepoStore.open(store_path(proj)) as store:
        assert b"\n\nSquashed!" in store.get(tip(proj, "main"))[1]


def test_conflict_shows_the_files_and_changes_nothing(people, proj):
    open_pull(people, "clash")
    before = tip(proj, "main")
    client = client_for(people, "alice")
    page = client.get(f"{BASE}/1").content.decode()
    assert "This branch has conflicts" in page and "<code>file.txt</code>" in page
    assert 'action="/alice/proj/pulls/1/merge"' not in page
    response = client.post(f"{BASE}/1/merge", {"method": "merge", "sha": tip(proj, "clash").hex()})
    assert response.status_code == 409
    assert "would conflict in file.txt" in response.content.decode()
    assert tip(proj, "main") == before and not PullRequest.objects.get().is_merged
    assert Issue.objects.get().state == Issue.OPEN


def test_sha_guard_refuses_a_moved_head(people, proj):
    open_pull(people)
    before = tip(proj, "main")
    response = client_for(people, "alice").post(f"{BASE}/1/merge", {"method": "merge", "sha": "0" * 40})
    assert response.status_code == 409 and "head branch moved" in response.content.decode()
    assert tip(proj, "main") == before and not PullRequest.objects.get().is_merged


def test_unknown_method_is_refused(people, proj):
    open_pull(people)
    response = client_for(people, "alice").post(f"{BASE}/1/merge", {"method": "octopus"})
    assert response.status_code == 400 and not PullRequest.objects.get().is_merged


MERGE_MATRIX = [
    ("anonymous", 302), ("mallory", 403), ("bob", 403), ("carol", 302), ("alice", 302),
    ("agent_with_merge", 302), ("agent_without_merge", 403),
]


@pytest.mark.parametrize("who,status", MERGE_MATRIX)
def test_who_may_merge(people, proj, who, status):
    open_pull(people)
    before = tip(proj, "main")
    headers, client = {}, Client()
    if who == "agent_with_merge":
        headers["HTTP_AUTHORIZATION"] = "Bearer " + token_for(people, ["repo:read", "repo:write", "pulls:merge"])
    elif who == "agent_without_merge":
        headers["HTTP_AUTHORIZATION"] = "Bearer " + token_for(people, ["repo:read", "repo:write", "issues:write"])
    elif who != "anonymous":
        client = client_for(people, who)
    page = client.get(f"{BASE}/1", **headers).content.decode()
    merged = status == 302 and who != "anonymous"
    assert ('action="/alice/proj/pulls/1/merge"' in page) == merged
    response = client.post(f"{BASE}/1/merge", {"method": "merge"}, **headers)
    assert response.status_code == status
    if who == "anonymous":
        assert response["Location"].startswith("/login?next=")
    assert (tip(proj, "main") != before) == merged
    assert PullRequest.objects.get().is_merged == merged


def test_csrf_is_refused(people, proj):
    open_pull(people)
    before = tip(proj, "main")
    client = client_for(people, "alice", enforce_csrf_checks=True)
    for url, data in ((f"{BASE}/1/merge", {"method": "merge"}), (f"{BASE}/1/reviews", {"state": "approved"}),
                      (f"{BASE}/1/comments", {"body": "x"}), (f"{BASE}/1/state", {"action": "close"}),
                      (f"{BASE}/1/comments/line", {"path": "file.txt", "line": "2", "side": "RIGHT", "body": "x"}),
                      (f"{BASE}/new", {"base": "main", "head": "clash", "title": "x"})):
        assert client.post(url, data).status_code == 403, url
    assert tip(proj, "main") == before and Issue.objects.count() == 1 and not Review.objects.exists()
    assert not ReviewComment.objects.exists() and Issue.objects.get().state == Issue.OPEN


def test_private_pull_requests_are_hidden_from_strangers(people, proj):
    open_pull(people, repo="secret")
    for client in (Client(), client_for(people, "mallory")):
        for url in ("/alice/secret/pulls", "/alice/secret/pulls/1", "/alice/secret/pulls/1/files",
                    "/alice/secret/pulls/1/commits", "/alice/secret/pulls/new"):
            assert client.get(url).status_code == 404, url
        assert client.post("/alice/secret/pulls/1/merge", {"method": "merge"}).status_code == 404
    assert client_for(people, "bob").get("/alice/secret/pulls/1").status_code == 200


# --- reviews, comments, line comments -------------------------------------------------------------------------------

def test_reviews_and_who_may_give_them(people, proj):
    open_pull(people, who="writer")                              # carol is the author
    assert Client().post(f"{BASE}/1/reviews", {"state": "approved"})["Location"].startswith("/login?")
    author = client_for(people, "carol")
    assert 'value="approved"' not in author.get(f"{BASE}/1").content.decode()
    assert author.post(f"{BASE}/1/reviews", {"state": "approved"}).status_code == 403
    assert author.post(f"{BASE}/1/reviews", {"state": "commented", "body": "note to self"}).status_code == 302
    reviewer = client_for(people, "bob")
    assert 'value="approved"' in reviewer.get(f"{BASE}/1").content.decode()
    response = reviewer.post(f"{BASE}/1/reviews", {"state": "approved", "body": "LGTM"})
    assert response.status_code == 302 and response["Location"].startswith(f"{BASE}/1#review-")
    assert reviewer.post(f"{BASE}/1/reviews", {"state": "changes", "body": ""}).status_code == 400
    no_scope = token_for(people, ["repo:read", "repo:write"])
    assert Client().post(f"{BASE}/1/reviews", {"state": "commented", "body": "x"},
                         HTTP_AUTHORIZATION=f"Bearer {no_scope}").status_code == 403
    page = Client().get(f"{BASE}/1").content.decode()
    assert "approved these changes" in page and "LGTM" in page and "note to self" in page
    review = Review.objects.get(state=Review.APPROVED)
    assert review.commit_oid == tip(proj, "feature").hex() and review.author == people["bob"]


def test_conversation_comments_and_state_with_and_without_htmx(people, proj):
    open_pull(people)
    client = client_for(people, "bob")
    response = client.post(f"{BASE}/1/comments", {"body": "plain *post*"})
    assert response.status_code == 302 and response["Location"].startswith(f"{BASE}/1#comment-")
    fragment = client.post(f"{BASE}/1/comments", {"body": "via htmx"}, HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200 and "via htmx" in fragment.content.decode()
    assert "<html" not in fragment.content.decode()
    assert client.post(f"{BASE}/1/comments", {"body": " "}).status_code == 400
    page = client.get(f"{BASE}/1").content.decode()
    assert "<em>post</em>" in page and "via htmx" in page and "Close pull request" in page
    closed = client.post(f"{BASE}/1/state", {"action": "close"}, HTTP_HX_REQUEST="true").content.decode()
    assert ">Closed</span>" in closed and "Reopen pull request" in closed and 'hx-swap-oob' in closed
    assert "closed without being merged" in client.get(f"{BASE}/1").content.decode().replace("\n", " ") \
        or "is closed" in client.get(f"{BASE}/1").content.decode()
    assert client.post(f"{BASE}/1/state", {"action": "reopen"}).status_code == 302
    assert Issue.objects.get().state == Issue.OPEN
    assert client_for(people, "mallory").post(f"{BASE}/1/state", {"action": "close"}).status_code == 403


def test_line_comments_appear_under_their_line(people, proj):
    pull = open_pull(people).pull
    client = client_for(people, "mallory")                       # any signed-in reader may comment
    chosen = client.get(f"{BASE}/1/files", {"path": "file.txt", "side": "RIGHT", "line": "2"}).content.decode()
    assert 'id="new-line-comment"' in chosen and 'name="line" value="2"' in chosen
    response = client.post(f"{BASE}/1/comments/line", {"path": "file.txt", "line": "2", "side": "RIGHT",
                                                        "body": "Why *this*?"})
    assert response.status_code == 302 and "/files#line-comment-" in response["Location"]
    refused = client.post(f"{BASE}/1/comments/line", {"path": "file.txt", "line": "40", "side": "RIGHT",
                                                       "body": "nowhere"})
    assert refused.status_code == 400 and "not in this pull request" in refused.content.decode()
    # A comment whose line has left the diff (written before a push, say) is listed as outdated.
    reviews.add_line_comment(actor_named(people, "owner"), pull, path="file.txt", line=40, side="RIGHT",
                             body="an old remark")
    page = Client().get(f"{BASE}/1/files").content.decode()
    row = page.index('id="f0-RIGHT2"')
    note = page.index("Why <em>this</em>?")
    next_row = page.index('id="f0-RIGHT3"')
    assert row < note < next_row
    outdated = page.index("Outdated comments")
    assert page.index("an old remark") > outdated > next_row
    assert "Why <em>this</em>?" in Client().get(f"{BASE}/1").content.decode()   # in the conversation too
    assert Client().post(f"{BASE}/1/comments/line", {"path": "file.txt", "line": "2", "side": "RIGHT",
                                                      "body": "anon"})["Location"].startswith("/login?")
    assert ReviewComment.objects.count() == 2



def test_a_gone_branch_is_said_plainly(people, proj):
    from repos.store.packformat import ZERO_OID
    from repos.store.write import write_and_move_ref
    open_pull(people)
    head = tip(proj, "feature")
    with RepoStore.open(store_path(proj)) as store:
        write_and_move_ref(store, {}, "refs/heads/feature", head, ZERO_OID)
    page = client_for(people, "alice").get(f"{BASE}/1").content.decode()
    assert "A branch of this pull request is gone" in page and "<code>feature</code> no longer exists" in page
    assert 'action="/alice/proj/pulls/1/merge"' not in page
    assert PullRequest.objects.get().merge_state == PullRequest.GONE
    assert "Change line 2" in Client().get(f"{BASE}/1/commits").content.decode()   # the commits it had
    assert "line 2 changed" in Client().get(f"{BASE}/1/files").content.decode()
