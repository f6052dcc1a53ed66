"""A repository's labels: /repos/{o}/{r}/labels (list, create) and /labels/{name} (one)."""
from django.db.models.functions import Lower
from django.http import HttpResponse
from ninja import Router, Schema

from forge.api import ApiError, Page, errors, invalid
from issues import services
from issues.api.serializers import LabelOut, label_json, refused
from issues.models import Label
from repos.api.common import accessible

router = Router(tags=["issues"])


class LabelIn(Schema):
    name: str
    color: str | None = None
    description: str | None = None


@router.get("/repos/{owner}/{repo}/labels", response={200: list[LabelOut], **errors(404)},
            summary="List labels for a repository")
def list_repository_labels(request, response: HttpResponse, owner: str, repo: str, page: int = 1,
                           per_page: int = 30):
    _, found = accessible(request, owner, repo)
    labels = Label.objects.filter(repository=found).order_by(Lower("name"), "pk")
    return [label_json(request, found, label) for label in Page(page, per_page).take(request, response, labels)]


@router.post("/repos/{owner}/{repo}/labels", response={201: LabelOut, **errors(401, 403, 404, 422)},
             summary="Create a label")
def create_repository_label(request, owner: str, repo: str, body: LabelIn):
    actor, found = accessible(request, owner, repo)
    try:
        label = services.create_label(actor, found, body.name, body.color or "ededed", body.description or "")
    except services.NotAllowed:
        raise refused(actor) from None
    except services.InvalidInput as error:
        code = "already_exists" if "already exists" in str(error) else "invalid"
        raise invalid(str(error), resource="Label", field=error.field, code=code) from None
    return 201, label_json(request, found, label)


@router.get("/repos/{owner}/{repo}/labels/{name}", response={200: LabelOut, **errors(404)}, summary="Get a label")
def get_repository_label(request, owner: str, repo: str, name: str):
    _, found = accessible(request, owner, repo)
    label = (Label.objects.filter(repository=found).alias(lower=Lower("name")).filter(lower=name.lower()).first())
    if label is None:
        raise ApiError(404, "Not Found")
    return label_json(request, found, label)
