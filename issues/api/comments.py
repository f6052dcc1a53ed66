"""Comments of issues and pull requests (one thread, as on GitHub):
/repos/{o}/{r}/issues/{number}/comments and /repos/{o}/{r}/issues/comments/{comment_id}."""
from django.http import HttpResponse
from ninja import Router, Schema

from forge.api import ApiError, Page, errors
from issues import api_services, services
from issues.api.issues import parse_since
from issues.api.serializers import (
    MAX_NUMBER,
    Associations,
    CommentOut,
    comment_json,
    invalid_input,
    issue_or_404,
    refused,
)
from issues.models import Comment
from repos.api.common import accessible

router = Router(tags=["issues"])


class CommentIn(Schema):
    body: str


def comment_or_404(repo, comment_id: int) -> Comment:
    if comment_id < 1 or comment_id > MAX_NUMBER:
        raise ApiError(404, "Not Found")
    comment = (Comment.objects.filter(pk=comment_id, issue__repository=repo)
               .select_related("author", "issue").first())
    if comment is None:
        raise ApiError(404, "Not Found")
    comment.issue.repository = repo
    return comment


@router.get("/repos/{owner}/{repo}/issues/{number}/comments", response={200: list[CommentOut], **errors(404, 422)},
            summary="List issue comments")
def list_issue_comments(request, response: HttpResponse, owner: str, repo: str, number: int, since: str = "",
                        page: int = 1, per_page: int = 30):
    _, found = accessible(request, owner, repo)
    issue = issue_or_404(found, number)
    comments = Comment.objects.filter(issue=issue).select_related("author").order_by("created_at", "pk")
    moment = parse_since(since)
    if moment is not None:
        comments = comments.filter(updated_at__gte=moment)
    associations = Associations(found)
    return [comment_json(request, comment, issue, associations)
            for comment in Page(page, per_page).take(request, response, comments)]


@router.post("/repos/{owner}/{repo}/issues/{number}/comments",
             response={201: CommentOut, **errors(401, 403, 404, 410, 422)}, summary="Create an issue comment")
def create_issue_comment(request, owner: str, repo: str, number: int, body: CommentIn):
    actor, found = accessible(request, owner, repo)
    issue = issue_or_404(found, number)
    try:
        comment = services.add_comment(actor, issue, body.body)
    except services.NotAllowed:
        raise refused(actor) from None
    except services.InvalidInput as error:
        raise invalid_input(error, "IssueComment") from None
    comment = comment_or_404(found, comment.pk)
    return 201, comment_json(request, comment, issue)


@router.get("/repos/{owner}/{repo}/issues/comments/{comment_id}", response={200: CommentOut, **errors(404, 422)},
            summary="Get an issue comment")
def get_issue_comment(request, owner: str, repo: str, comment_id: int):
    _, found = accessible(request, owner, repo)
    comment = comment_or_404(found, comment_id)
    return comment_json(request, comment, comment.issue)


@router.patch("/repos/{owner}/{repo}/issues/comments/{comment_id}",
              response={200: CommentOut, **errors(401, 403, 404, 422)}, summary="Update an issue comment")
def update_issue_comment(request, owner: str, repo: str, comment_id: int, body: CommentIn):
    actor, found = accessible(request, owner, repo)
    comment = comment_or_404(found, comment_id)
    try:
        comment = services.edit_comment(actor, comment, body.body)
    except services.NotAllowed:
        raise refused(actor) from None
    except services.InvalidInput as error:
        raise invalid_input(error, "IssueComment") from None
    return comment_json(request, comment, comment.issue)


@router.delete("/repos/{owner}/{repo}/issues/comments/{comment_id}", response={204: None, **errors(401, 403, 404)},
               summary="Delete an issue comment")
def delete_issue_comment(request, owner: str, repo: str, comment_id: int):
    actor, found = accessible(request, owner, repo)
    comment = comment_or_404(found, comment_id)
    try:
        api_services.delete_comment(actor, comment)
    except services.NotAllowed:
        raise refused(actor) from None
    return 204, None
