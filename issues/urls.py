"""The issue pages, under /OWNER/NAME/issues (included by forge/urls.py without a trailing slash).

GET       /OWNER/NAME/issues                          list: ?state=open|closed&author=&label=&assignee=&q=&page=
GET/POST  /OWNER/NAME/issues/new                      title, body
GET/POST  /OWNER/NAME/issues/labels                   name, color, description (creates a label)
GET       /OWNER/NAME/issues/N
POST      /OWNER/NAME/issues/N/comments               body
GET/POST  /OWNER/NAME/issues/N/comments/ID/edit       body
POST      /OWNER/NAME/issues/N/state                  action=close|reopen
POST      /OWNER/NAME/issues/N/labels                 label (repeated)
POST      /OWNER/NAME/issues/N/assignees              assignees (names, comma or space separated)
"""
from django.urls import path, re_path

from issues import views


def _under(route, view, name):
    # Each route begins with "/" (the include has none), written "[/]" as in repos/settings_urls.py.
    return re_path(rf"^[/]{route}$", view, name=name)


NUMBER = r"(?P<number>[1-9][0-9]{0,9})"

urlpatterns = [
    path("", views.issue_list, name="issues"),
    _under("new", views.new_issue, "issue-new"),
    _under("labels", views.labels, "issue-labels"),
    _under(NUMBER, views.issue_detail, "issue"),
    _under(rf"{NUMBER}/comments", views.comment, "issue-comment"),
    _under(rf"{NUMBER}/comments/(?P<comment_id>[0-9]{{1,18}})/edit", views.edit_comment, "issue-comment-edit"),
    _under(rf"{NUMBER}/state", views.change_state, "issue-state"),
    _under(rf"{NUMBER}/labels", views.set_labels, "issue-set-labels"),
    _under(rf"{NUMBER}/assignees", views.set_assignees, "issue-set-assignees"),
]
