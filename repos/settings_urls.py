"""The repository settings pages, under /OWNER/NAME/settings (included by forge/urls.py)."""
urlpatterns = []
