"""Stub, being written."""
from django.http import Http404


def new_repository(request):
    raise Http404("not built yet")
