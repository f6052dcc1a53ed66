"""The repository part of the GitHub-compatible API, one module per kind of resource. A URL path
belongs to exactly one module (django-ninja gives each path one view per method, and a path split
across routers would answer 405 for the methods of the second)."""
from . import blame, branches, changes, commits, contents, gitdata, gitrefs, picks, repositories, search

routers = [module.router for module in (repositories, branches, gitrefs, gitdata, contents, commits, changes, picks, blame,
                                        search)]
