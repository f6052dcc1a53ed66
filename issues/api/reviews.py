"""/repos/{owner}/{repo}/pulls/{number}/reviews: listing and submitting reviews (issues.reviews),
with line comments given in the review's `comments` (path, line, side, body).

Forge has no pending (draft) reviews: a review is submitted at once, so `event` is required
(GitHub would keep a review without one as PENDING), and a COMMENT review needs a body."""
from datetime import datetime

from django.db import transaction
from django.http import HttpResponse
from ninja import Router, Schema

from accounts.api import UserOut
from forge.api import ApiError, Page, errors, invalid, web_url
from issues import pulls, reviews, services
from issues.api.pulls import pull_diff, pull_or_404
from issues.api.serializers import Associations, optional_user, refused, repo_api
from issues.models import Review
from repos.api.common import accessible, repository_store

router = Router(tags=["pulls"])

EVENTS = {"APPROVE": Review.APPROVED, "REQUEST_CHANGES": Review.CHANGES_REQUESTED, "COMMENT": Review.COMMENTED}
STATES = {Review.APPROVED: "APPROVED", Review.CHANGES_REQUESTED: "CHANGES_REQUESTED", Review.COMMENTED: "COMMENTED"}


class ReviewCommentIn(Schema):
    path: str
    body: str
    line: int | None = None
    position: int | None = None
    side: str | None = None


class ReviewIn(Schema):
    commit_id: str | None = None
    body: str | None = None
    event: str | None = None
    comments: list[ReviewCommentIn] | None = None


class ReviewOut(Schema):
    id: int
    node_id: str
    user: UserOut | None
    body: str
    state: str
    html_url: str
    pull_request_url: str
    submitted_at: datetime
    commit_id: str
    author_association: str


def review_json(request, review, pull, associations: Associations) -> dict:
    repo = pull.issue.repository
    number = pull.issue.number
    return {
        "id": review.pk,
        "node_id": f"PRR_{review.pk}",
        "user": optional_user(request, review.author),
        "body": review.body,
        "state": STATES[review.state],
        "html_url": web_url(request, f"/{repo.full_name}/pulls/{number}#review-{review.pk}"),
        "pull_request_url": repo_api(request, repo, f"/pulls/{number}"),
        "submitted_at": review.created_at,
        "commit_id": review.commit_oid,
        "author_association": associations.of(review.author_id),
    }


@router.get("/repos/{owner}/{repo}/pulls/{number}/reviews", response={200: list[ReviewOut], **errors(404, 422)},
            summary="List reviews for a pull request")
def list_pull_request_reviews(request, response: HttpResponse, owner: str, repo: str, number: int, page: int = 1,
                              per_page: int = 30):
    _, found = accessible(request, owner, repo)
    pull = pull_or_404(found, number)
    rows = Review.objects.filter(pull=pull).select_related("author").order_by("created_at", "pk")
    associations = Associations(found)
    return [review_json(request, review, pull, associations)
            for review in Page(page, per_page).take(request, response, rows)]


@router.post("/repos/{owner}/{repo}/pulls/{number}/reviews",
             response={200: ReviewOut, **errors(401, 403, 404, 422)}, summary="Create a review for a pull request")
def create_pull_request_review(request, owner: str, repo: str, number: int, body: ReviewIn):
    actor, found = accessible(request, owner, repo)
    pull = pull_or_404(found, number)
    if body.event is None:
        raise invalid("Forge submits reviews at once: give event APPROVE, REQUEST_CHANGES or COMMENT",
                      resource="PullRequestReview", field="event", code="missing_field")
    state = EVENTS.get(body.event)
    if state is None:
        raise invalid("event must be APPROVE, REQUEST_CHANGES or COMMENT", resource="PullRequestReview",
                      field="event")
    comments = body.comments or []
    with repository_store(found) as store:
        pulls.refresh(pull, store)
        if body.commit_id and body.commit_id.lower() != pull.head_oid:
            raise invalid("commit_id is not the head of this pull request", resource="PullRequestReview",
                          field="commit_id")
        diff = pull_diff(found, store, pull) if comments else None
    lines = reviews.diff_lines(diff) if diff is not None else set()
    try:
        with transaction.atomic():
            review = reviews.submit_review(actor, pull, state, body.body or "")
            for item in comments:
                if item.line is None:
                    raise services.InvalidInput("comments", "Give each comment a line (position is not supported).")
                reviews.add_line_comment(actor, pull, path=item.path, line=item.line, side=item.side or "RIGHT",
                                         body=item.body, lines_in_diff=lines)
    except services.NotAllowed as error:
        if not actor.is_anonymous and "own pull request" in str(error):
            raise ApiError(422, "Unprocessable Entity", [{"resource": "PullRequestReview", "code": "custom",
                                                          "message": "Can not approve your own pull request"}]) from None
        raise refused(actor) from None
    except services.InvalidInput as error:
        raise invalid(str(error), resource="PullRequestReview", field=error.field) from None
    review = Review.objects.select_related("author").get(pk=review.pk)
    return review_json(request, review, pull, Associations(found))
