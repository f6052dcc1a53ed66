"""Git smart HTTP endpoints: resolve access, open the store, stream what repos.git answers."""
import os

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from accounts.access import (
    AccessError, AuthRequired, RepoNotFound, access_repo, can_create_in, strip_git_suffix,
)
from accounts.actor import ANONYMOUS
from accounts.middleware import SESSION
from accounts.selectors import actor_user
from forge.observability import metrics
from repos import services
from repos.git import http as git
from repos.git.pktline import ProtocolError
from repos.selectors import store_path
from repos.signals import send_refs_moved
from repos.store import RepoStore


def _refusal(error):
    response = HttpResponse(str(error) + "\n", status=error.status, content_type="text/plain")
    if isinstance(error, AuthRequired):
        response["WWW-Authenticate"] = 'Basic realm="Forge"'
    return response


def _no_cache(response):
    for key, value in git.NO_CACHE.items():
        response[key] = value
    return response


def _repository(request, owner, name, need, *, may_create=False):
    """(repo or None, refusal response or None). None repo: missing, but this push may create it.

    Under the old name of a renamed repository, access_repo finds the repository and git is served
    in place instead of being redirected as web pages are. git follows a redirect only on the first
    request of a session (http.followRedirects=initial: info/refs), not on the POSTs that carry
    fetch negotiation and pushed packs, and other clients and older gits do less; and a POST cannot
    be redirected safely (a 301/302 turns it into a GET, and its body, possibly a large pack, would
    have to be sent twice). So clones, fetches and pushes at OWNER/OLD and OWNER/OLD.git just work."""
    if request.actor_source == SESSION:
        # These endpoints are csrf_exempt (git sends no CSRF token), so a browser's session cookie is
        # no credential here: a page elsewhere could otherwise push, or create repositories, as the
        # visitor. git authenticates with a token (or through a trusted proxy).
        request.actor, request.actor_source = ANONYMOUS, None
    try:
        return access_repo(request.actor, owner, name, need), None
    except RepoNotFound as error:
        if may_create and can_create_in(request.actor, owner):
            return None, None
        return None, _refusal(error)
    except AccessError as error:
        return None, _refusal(error)


def _closing(store, chunks):
    """Stream `chunks`, turning a late protocol error into an ERR packet, and close the store."""
    try:
        yield from chunks
    except ProtocolError as error:
        yield git.error_packet(str(error))
    finally:
        store.close()


@csrf_exempt
@require_GET
def info_refs(request, owner, name):
    service = request.GET.get("service")
    if service not in git.SERVICES:
        return HttpResponse("Only the smart HTTP protocol is served.\n", status=403, content_type="text/plain")
    pushing = service == "git-receive-pack"
    repo, refusal = _repository(request, owner, name, "write" if pushing else "read", may_create=pushing)
    if refusal:
        return refusal
    version = git.protocol_version(request.META.get("HTTP_GIT_PROTOCOL"))
    if repo is None:
        body = git.advertisement(None, service, version)
    else:
        with RepoStore.open(store_path(repo)) as store:
            body = git.advertisement(store, service, version)
    return _no_cache(HttpResponse(body, content_type=f"application/x-{service}-advertisement"))


@csrf_exempt
@require_POST
@metrics.counts_git_errors("upload-pack")
def upload_pack(request, owner, name):
    repo, refusal = _repository(request, owner, name, "read")
    if refusal:
        metrics.git_operation("upload-pack", "denied")
        return refusal
    version = git.protocol_version(request.META.get("HTTP_GIT_PROTOCOL"))
    store = RepoStore.open(store_path(repo))
    try:
        stream = git.request_stream(request.META["wsgi.input"], request.META.get("HTTP_CONTENT_ENCODING"))
        chunks = metrics.GitSendStream("upload-pack", git.serve_upload_pack(store, stream, version))
    except ProtocolError as error:
        store.close()
        metrics.git_operation("upload-pack", "error")
        return _no_cache(HttpResponse(git.error_packet(str(error)), content_type="application/x-git-upload-pack-result"))
    except BaseException:
        store.close()
        raise
    response = StreamingHttpResponse(_closing(store, chunks), content_type="application/x-git-upload-pack-result")
    return _no_cache(response)


@csrf_exempt
@require_POST
@metrics.counts_git_errors("receive-pack")
def receive_pack(request, owner, name):
    repo, refusal = _repository(request, owner, name, "write", may_create=True)
    if refusal:
        metrics.git_operation("receive-pack", "denied")
        return refusal
    if repo is None:
        try:
            repo = services.create_repository(actor_user(request.actor), strip_git_suffix(name))
        except ValueError as error:
            # Another push may have created it a moment ago; otherwise the name is not acceptable.
            repo, refusal = _repository(request, owner, name, "write")
            if repo is None:
                metrics.git_operation("receive-pack", "rejected")
                return HttpResponse(f"{error}\n", status=400, content_type="text/plain")
    tmp_dir = os.path.join(settings.FORGE_DATA_DIR, "tmp")
    os.makedirs(tmp_dir, exist_ok=True)
    after_response = []
    try:
        body_in = metrics.CountingReader(request.META["wsgi.input"])
        stream = git.request_stream(body_in, request.META.get("HTTP_CONTENT_ENCODING"))
        with RepoStore.open(store_path(repo)) as store:
            body, outcome = git.serve_receive(
                store, stream, tmp_dir=tmp_dir, max_pack_bytes=settings.FORGE_MAX_PUSH_BYTES,
                check_updates=lambda updates, req: services.check_push(repo, request.actor, updates, req.options),
                defer=after_response.append,
            )
    except ProtocolError as error:
        metrics.git_operation("receive-pack", "error", received=body_in.count)
        return HttpResponse(f"protocol error: {error}\n", status=400, content_type="text/plain")
    if outcome is not None and any(u.error is None for u in outcome.updates):
        head = outcome.new_head
        services.mark_pushed(repo, default_branch=head[len("refs/heads/"):] if head else None)
        send_refs_moved(repo, [(u.name, u.old, u.new) for u in outcome.updates if u.error is None], request.actor)
        if not outcome.clean:
            services.repack_in_background(repo)
    landed = outcome is not None and all(u.error is None for u in outcome.updates)
    metrics.git_operation("receive-pack", "ok" if landed else "rejected", received=body_in.count)
    response = _ThenResponse(body, content_type="application/x-git-receive-pack-result", then=after_response)
    return _no_cache(response)


class _ThenResponse(HttpResponse):
    """A response that runs housekeeping once the WSGI server is done with it (on close): the
    client already has every byte, as the response carries its Content-Length."""

    def __init__(self, *args, then=(), **kwargs):
        super().__init__(*args, **kwargs)
        self._then = list(then)

    def close(self):
        try:
            super().close()
        finally:
            for task in self._then:
                task()
            self._then.clear()
