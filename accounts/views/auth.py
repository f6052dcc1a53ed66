"""Stub, being written."""
from django.http import Http404


def _missing(request, *args, **kwargs):
    raise Http404("not built yet")


signup = login = logout = account = password = tokens = revoke = _missing
