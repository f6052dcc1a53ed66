"""Issues, pull requests and comments (models arrive with the issues work)."""
