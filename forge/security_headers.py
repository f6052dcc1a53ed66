"""Security headers on every answer, and the request's scheme decided only from addresses we trust.

Placed right after django.middleware.security.SecurityMiddleware (which sends HSTS, nosniff and
Referrer-Policy on the way out, HSTS only when `request.is_secure()`):

* On the way in, the scheme is settled before anything asks `request.is_secure()`. A client may
  say `X-Forwarded-Proto: https` (Django's SECURE_PROXY_SSL_HEADER), and gunicorn believes the
  same header from its `forwarded_allow_ips` (loopback by default) by setting wsgi.url_scheme.
  Only a client in FORGE_TRUSTED_PROXIES — the proxy that terminates TLS — is believed: from
  anyone else the header is dropped and the scheme is what the socket really is. Otherwise any
  client could make Forge send HSTS over plain http, or take http for https in CSRF checks.
* On the way out, a Content-Security-Policy for our own pages (no inline scripts, no eval, no
  plugins, no framing, forms post only here), unless the view already set a stricter one (raw
  files do: `default-src 'none'; sandbox`); and X-Frame-Options on whitenoise's answers too.
"""
import ssl
from urllib.parse import urlsplit

from django.conf import settings

from accounts.middleware import from_trusted_proxy

# The headers that gunicorn (secure_scheme_headers) or Django (SECURE_PROXY_SSL_HEADER) read as
# "the client spoke https to the proxy".
FORWARDED_SCHEME_HEADERS = ("HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_PROTOCOL", "HTTP_X_FORWARDED_SSL")


def content_security_policy() -> str:
    """The policy for pages. Styles: our stylesheets, plus style *attributes* (language bars and
    label colours are computed widths and colours); <style> elements and inline scripts are refused.
    Images: Markdown may show https images (badges), never javascript: or http: ones."""
    form_action = ["'self'"]
    if getattr(settings, "FORGE_GITHUB_KEY", "") and getattr(settings, "FORGE_GITHUB_SECRET", ""):
        # "Sign in with GitHub" posts here and is redirected to GitHub: browsers apply form-action
        # to the redirect too.
        github = urlsplit(settings.FORGE_GITHUB_URL)
        form_action.append(f"{github.scheme}://{github.netloc}")
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "style-src-attr 'unsafe-inline'",
        "img-src 'self' data: https:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action " + " ".join(form_action),
    ]
    return "; ".join(directives)


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request):
        settle_scheme(request.META)
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        # XFrameOptionsMiddleware sits below whitenoise, so static files would go without it.
        if "X-Frame-Options" not in response and not getattr(response, "xframe_options_exempt", False):
            response["X-Frame-Options"] = settings.X_FRAME_OPTIONS
        return response


def settle_scheme(meta) -> None:
    """Forget what an untrusted client said about the scheme (see the module's docstring)."""
    if from_trusted_proxy(meta):
        return
    for key in FORWARDED_SCHEME_HEADERS:
        meta.pop(key, None)
    sock = meta.get("gunicorn.socket")
    if sock is not None and meta.get("wsgi.url_scheme") == "https" and not isinstance(sock, ssl.SSLSocket):
        meta["wsgi.url_scheme"] = "http"  # gunicorn believed a forwarded header; the socket is plain
