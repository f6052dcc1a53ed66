"""Comment and issue bodies to HTML, with references resolved against this repository
(repos.render.references does the Markdown; this supplies what exists)."""
import functools
from urllib.parse import quote

from django.contrib.auth import get_user_model
from django.db.models.functions import Lower
from markupsafe import Markup

from issues.models import Issue
from repos.render.references import References, render_with_references
from repos.store.browse import NotFound, resolve_commit


def references_for(repo, store) -> References:
    """Lookups for one page, each cached for the page's lifetime."""
    base = "/" + quote(repo.full_name)

    @functools.cache
    def user(name):
        found = (get_user_model().objects.alias(lower=Lower("username")).filter(lower=name.lower(), is_active=True)
                 .values_list("username", flat=True).first())
        return f"/{quote(found)}" if found else None

    @functools.cache
    def issue(number):
        kind = Issue.objects.filter(repository=repo, number=number).values_list("kind", flat=True).first()
        if kind is None:
            return None
        return f"{base}/{'pulls' if kind == Issue.PULL else 'issues'}/{number}"

    @functools.cache
    def commit(text):
        if store is None:
            return None
        try:
            _, oid = resolve_commit(store, text)
        except NotFound:
            return None
        # A branch or tag that happens to be spelled in hex is not what "abc1234" in a comment means.
        full = oid.hex()
        return f"{base}/commit/{full}" if full.startswith(text) else None

    return References(user=user, issue=issue, commit=commit)


def render_body(text: str, references: References) -> Markup:
    return Markup(render_with_references(text or "", references))
