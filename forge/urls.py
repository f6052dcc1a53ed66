from django.urls import path, re_path

from forge import views
from repos.views import code, git_http, history, refs

# OWNER/NAME or OWNER/NAME.git; the git routes come first so no web route can shadow them.
GIT_REPOSITORY = r"^(?P<owner>[^/]+)/(?P<name>[^/]+?)(?:\.git)?/"
REPO = "<str:owner>/<str:name>"

urlpatterns = [
    re_path(GIT_REPOSITORY + r"info/refs$", git_http.info_refs, name="git-info-refs"),
    re_path(GIT_REPOSITORY + r"git-upload-pack$", git_http.upload_pack, name="git-upload-pack"),
    re_path(GIT_REPOSITORY + r"git-receive-pack$", git_http.receive_pack, name="git-receive-pack"),
    path("", views.home, name="home"),
    re_path(r"^(?P<owner>[^/]+)/(?P<name>[^/]+)\.git/?$", views.strip_git, name="repo-git-url"),
    path(f"{REPO}", code.repo_home, name="repo"),
    path(f"{REPO}/tree/<path:spec>", code.tree, name="tree"),
    path(f"{REPO}/blob/<path:spec>", code.blob, name="blob"),
    path(f"{REPO}/raw/<path:spec>", code.raw, name="raw"),
    path(f"{REPO}/blame/<path:spec>", code.blame, name="blame"),
    path(f"{REPO}/commits", history.commits, name="commits-default"),
    path(f"{REPO}/commits/<path:spec>", history.commits, name="commits"),
    path(f"{REPO}/commit/<str:sha>", history.commit, name="commit"),
    path(f"{REPO}/compare/<path:spec>", history.compare, name="compare"),
    path(f"{REPO}/branches", refs.branches, name="branches"),
    path(f"{REPO}/tags", refs.tags, name="tags"),
    re_path(r"^(?P<owner>[^/]+)/(?P<name>[^/]+)/archive/(?P<spec>.+?)(?P<fmt>\.tar\.gz|\.zip)$", refs.download,
            name="archive"),
    path("<str:owner>", views.profile, name="profile"),
]
