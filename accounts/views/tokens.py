"""/settings/tokens: a person's agent tokens. A new token is shown once, right after it is made."""
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.forms import SCOPE_HELP, TokenForm
from accounts.models import AgentToken
from accounts.tokens import issue_token, revoke_token
from accounts.views.common import person_required

NEW_TOKEN_KEY = "forge_new_token"



@require_http_methods(["GET", "HEAD", "POST"])
@person_required
def tokens(request):
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            try:
                token, plaintext = issue_token(request.account, form.cleaned_data["label"],
                                               form.cleaned_data["scopes"], form.expires_days())
            except ValueError as error:
                form.add_error(None, str(error))
            else:
                # Post/Redirect/Get, so a reload cannot make a second token. The plaintext waits in
                # the session for the one page view that shows it, and is gone from it after that.
                request.session[NEW_TOKEN_KEY] = {"id": token.pk, "value": plaintext}
                return HttpResponseRedirect("/settings/tokens")
        return _page(request, form, status=400)
    response = _page(request, TokenForm(), new_token=request.session.pop(NEW_TOKEN_KEY, None))
    response["Cache-Control"] = "no-store"  # nor may the browser keep the page that showed it
    return response


@require_POST
@person_required
def revoke(request, token_id):
    token = AgentToken.objects.filter(pk=token_id, user=request.account).first()
    if token is None:
        raise Http404("No such token")
    revoke_token(token)
    messages.success(request, f"Token “{token.label}” revoked. Programs using it are refused from now on.")
    return HttpResponseRedirect("/settings/tokens")


def _page(request, form, status=200, new_token=None):
    return render(request, "accounts/tokens.html", {
        "form": form,
        "scope_help": SCOPE_HELP,
        "tokens": AgentToken.objects.filter(user=request.account).order_by("-created_at"),
        "new_token": new_token,
    }, status=status)
