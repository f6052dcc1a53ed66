"""The issues and pull requests part of the GitHub-compatible API."""
from . import issues, pulls

routers = [issues.router, pulls.router]
