"""The repository settings pages, under /OWNER/NAME/settings (included by forge/urls.py).

GET  /OWNER/NAME/settings                                    general settings, rename, delete
POST /OWNER/NAME/settings/general                            description, visibility, default branch
POST /OWNER/NAME/settings/rename                             name
POST /OWNER/NAME/settings/delete                             confirm (the full name, typed)
POST /OWNER/NAME/settings/search-index                       rebuild the search index
GET  /OWNER/NAME/settings/collaborators                      collaborators
POST /OWNER/NAME/settings/collaborators/add                  username, permission
POST /OWNER/NAME/settings/collaborators/USER/permission      permission
POST /OWNER/NAME/settings/collaborators/USER/remove
"""
from django.urls import path, re_path

from repos.views import repo_settings as views


def _under(route, view, name):
    # The include has no trailing slash (the page itself is /OWNER/NAME/settings), so each route
    # below it begins with "/". Written "[/]" because Django's check urls.W002, meant for includes
    # that do end with a slash, warns about a route that begins with a literal "/".
    return re_path(rf"^[/]{route}$", view, name=name)


urlpatterns = [
    path("", views.general, name="repo-settings"),
    _under("general", views.update_general, "repo-settings-general"),
    _under("rename", views.rename, "repo-settings-rename"),
    _under("delete", views.delete, "repo-settings-delete"),
    _under("search-index", views.rebuild_search_index, "repo-settings-search-index"),
    _under("collaborators", views.collaborator_list, "repo-settings-collaborators"),
    _under("collaborators/add", views.add_collaborator, "repo-settings-add-collaborator"),
    _under(r"collaborators/(?P<username>[^/]+)/permission", views.change_collaborator, "repo-settings-change-collaborator"),
    _under(r"collaborators/(?P<username>[^/]+)/remove", views.remove_collaborator,
           "repo-settings-remove-collaborator"),
]
