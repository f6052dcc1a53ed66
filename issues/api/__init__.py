"""The issues and pull requests part of the GitHub-compatible API, one module per kind of resource
(a URL path belongs to exactly one module: see repos/api/__init__.py)."""
from . import comments, issues, labels, merges, pulls, reviews

routers = [module.router for module in (issues, comments, labels, pulls, merges, reviews)]
