"""The pull request pages, under /OWNER/NAME/pulls (included by forge/urls.py without a trailing slash).

GET       /OWNER/NAME/pulls                        list: ?state=open|closed&author=&q=&page=
GET/POST  /OWNER/NAME/pulls/new?base=B&head=H      branches, commits and files of B...H; title, body
GET       /OWNER/NAME/pulls/N                      conversation and the merge box
GET       /OWNER/NAME/pulls/N/commits
GET       /OWNER/NAME/pulls/N/files                the diff against the merge base, with line comments
POST      /OWNER/NAME/pulls/N/comments             body (the conversation: the issue's comment thread)
POST      /OWNER/NAME/pulls/N/comments/line        path, line, side=LEFT|RIGHT, body
POST      /OWNER/NAME/pulls/N/state                action=close|reopen
POST      /OWNER/NAME/pulls/N/merge                method=merge|squash|rebase, sha, message, delete_branch=on
POST      /OWNER/NAME/pulls/N/reviews              state=approved|changes|commented, body
"""
from django.urls import path, re_path

from issues import pull_views as views


def _under(route, view, name):
    # Each route begins with "/" (the include has none), as in issues/urls.py.
    return re_path(rf"^[/]{route}$", view, name=name)


NUMBER = r"(?P<number>[1-9][0-9]{0,9})"

urlpatterns = [
    path("", views.pull_list, name="pulls"),
    _under("new", views.new_pull, "pull-new"),
    _under(NUMBER, views.pull_detail, "pull"),
    _under(rf"{NUMBER}/commits", views.pull_commits, "pull-commits"),
    _under(rf"{NUMBER}/files", views.pull_files, "pull-files"),
    _under(rf"{NUMBER}/comments", views.comment, "pull-comment"),
    _under(rf"{NUMBER}/comments/line", views.line_comment, "pull-line-comment"),
    _under(rf"{NUMBER}/state", views.change_state, "pull-state"),
    _under(rf"{NUMBER}/merge", views.merge, "pull-merge"),
    _under(rf"{NUMBER}/reviews", views.review, "pull-review"),
]
