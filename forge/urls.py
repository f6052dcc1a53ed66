from django.urls import include, path, re_path

from accounts.views import auth as account_auth
from accounts.views import settings as account_settings
from accounts.views import tokens as account_tokens
from forge import views
from forge.api import api, api_not_found
from forge.observability import views as ops
from repos.views import code, git_http, history, new, refs, search

# OWNER/NAME or OWNER/NAME.git; the git routes come first so no web route can shadow them.
GIT_REPOSITORY = r"^(?P<owner>[^/]+)/(?P<name>[^/]+?)(?:\.git)?/"
REPO = "<str:owner>/<str:name>"

urlpatterns = [
    re_path(GIT_REPOSITORY + r"info/refs$", git_http.info_refs, name="git-info-refs"),
    re_path(GIT_REPOSITORY + r"git-upload-pack$", git_http.upload_pack, name="git-upload-pack"),
    re_path(GIT_REPOSITORY + r"git-receive-pack$", git_http.receive_pack, name="git-receive-pack"),
    path("", views.home, name="home"),
    # Operations: "-" is no user name, so these never shadow a profile.
    path("-/health", ops.health, name="ops-health"),
    path("-/metrics", ops.prometheus_metrics, name="ops-metrics"),
    # Site paths come before OWNER/NAME; their first parts are reserved user names (accounts.services).
    path("signup", account_auth.signup, name="signup"),
    path("login", account_auth.login, name="login"),
    path("logout", account_auth.logout, name="logout"),
    path("settings", account_settings.account, name="account-settings"),
    path("settings/password", account_settings.password, name="change-password"),
    path("settings/tokens", account_tokens.tokens, name="tokens"),
    path("settings/tokens/<int:token_id>/revoke", account_tokens.revoke, name="revoke-token"),
    path("new", new.new_repository, name="new-repository"),
    path("oauth/", include("social_django.urls", namespace="social")),
    path("api/v3/", api.urls),
    # Anything else under the API is GitHub's JSON 404, never the site's HTML page.
    re_path(r"^api/v3/", api_not_found),
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
    # Issues (issues/urls.py lists its routes).
    path(f"{REPO}/issues", include("issues.urls")),
    path(f"{REPO}/pulls", include("issues.pull_urls")),
    path(f"{REPO}/settings", include("repos.settings_urls")),
    path(f"{REPO}/search", search.search, name="search"),
    re_path(r"^(?P<owner>[^/]+)/(?P<name>[^/]+)/archive/(?P<spec>.+?)(?P<fmt>\.tar\.gz|\.zip)$", refs.download,
            name="archive"),
    path("<str:owner>", views.profile, name="profile"),
]

# A full disk or a database locked past its timeout is a 503 with Retry-After, not a bare 500.
handler500 = "forge.server_errors.server_error"
