from django.urls import path, re_path

from forge import views
from repos.views import git_http

# OWNER/NAME or OWNER/NAME.git; the git routes come first so no web route can shadow them.
GIT_REPOSITORY = r"^(?P<owner>[^/]+)/(?P<name>[^/]+?)(?:\.git)?/"

urlpatterns = [
    re_path(GIT_REPOSITORY + r"info/refs$", git_http.info_refs, name="git-info-refs"),
    re_path(GIT_REPOSITORY + r"git-upload-pack$", git_http.upload_pack, name="git-upload-pack"),
    re_path(GIT_REPOSITORY + r"git-receive-pack$", git_http.receive_pack, name="git-receive-pack"),
    path("", views.home, name="home"),
]
