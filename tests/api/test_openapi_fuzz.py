"""schemathesis against /api/v3/openapi.json: every route, fed generated input (valid and invalid),
must never answer a server error, only statuses its schema declares, and bodies that fit them.

A bounded run for `make test`: FORGE_API_FUZZ_EXAMPLES examples per route with valid input (default
4) and half as many with invalid input,
derandomized so that CI sees the same cases every run; raise the number for a longer hunt
(`FORGE_API_FUZZ_EXAMPLES=500 .venv/bin/pytest tests/api/test_openapi_fuzz.py`).

Path parameters `owner` and `repo` are pinned to a seeded repository (with history, a branch, an
issue and a pull request) half of the time, so that the cases reach the code behind the access
check rather than stopping at 404; the rest are generated. Routes that rename or delete the
repository they are given get a throwaway repository of their own for each case."""
import os

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from forge.api import api as forge_api

EXAMPLES = int(os.environ.get("FORGE_API_FUZZ_EXAMPLES", "4"))
# The request line limit of gunicorn (limit_request_line): a longer URL is refused with 414 by the
# HTTP server before Forge sees it, which is right and no route's business.
URI_TOO_LONG = 414
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SEED_OWNER, SEED_REPO = "fuzzer", "fuzz-seed"
# Operations that change which repository OWNER/REPO names: each case gets a fresh repository.
DESTRUCTIVE = {("PATCH", "/api/v3/repos/{owner}/{repo}"), ("DELETE", "/api/v3/repos/{owner}/{repo}")}


def _document():
    return forge_api.get_openapi_schema(path_prefix="/api/v3/")


OPERATIONS = sorted((method.upper(), path) for path, item in _document()["paths"].items()
                    for method in item if method in ("get", "post", "put", "patch", "delete"))


@pytest.fixture(scope="module")
def seeded(api_server, tokens, pushed_repo_module):
    """The seeded repository: pushed history with a second branch, an issue and a pull request."""
    return pushed_repo_module


@pytest.fixture(scope="module")
def pushed_repo_module(api_server, tokens, tmp_path_factory):
    from tests.api.conftest import write_files
    from tests.support.gitcli import git

    api_server.createrepo(f"{SEED_OWNER}/{SEED_REPO}")
    work = tmp_path_factory.mktemp("fuzz-seed")
    git("init", "-q", "-b", "main", str(work))
    for number in range(1, 4):
        write_files(work, {"README.md": f"# seed {number}\n", f"src/file{number}.py": f"value = {number}\n"})
        git("-C", str(work), "add", "-A")
        git("-C", str(work), "commit", "-q", "-m", f"commit {number}")
    git("-C", str(work), "tag", "-a", "v1", "-m", "version 1")
    git("-C", str(work), "checkout", "-q", "-b", "feature")
    write_files(work, {"feature.txt": "feature\n"})
    git("-C", str(work), "add", "-A")
    git("-C", str(work), "commit", "-q", "-m", "feature work")
    url = api_server.repo_url(SEED_OWNER, SEED_REPO, tokens[SEED_OWNER])
    git("-C", str(work), "push", "-q", url, "--all")
    git("-C", str(work), "push", "-q", url, "--tags")
    session = _session(tokens[SEED_OWNER])
    base = api_server.url + "/api/v3"
    # Best effort: these routes may not exist yet while the API is being built.
    session.post(f"{base}/repos/{SEED_OWNER}/{SEED_REPO}/issues", json={"title": "seed issue", "body": "x"})
    session.post(f"{base}/repos/{SEED_OWNER}/{SEED_REPO}/pulls",
                 json={"title": "seed pull", "head": "feature", "base": "main", "body": "y"})
    return f"{SEED_OWNER}/{SEED_REPO}"


def _session(token):
    session = requests.Session()
    session.headers["Authorization"] = f"token {token}"
    return session


def _throwaway(api_server, session, counter=[0]):
    counter[0] += 1
    name = f"fuzz-throwaway-{counter[0]}"
    answer = session.post(api_server.url + "/api/v3/user/repos", json={"name": name})
    assert answer.status_code == 201, answer.text
    return name


@pytest.fixture(scope="module")
def schema(api_server):
    loaded = schemathesis.openapi.from_url(api_server.url + "/api/v3/openapi.json")
    return loaded


def test_served_document_is_the_generated_one(api_server):
    served = requests.get(api_server.url + "/api/v3/openapi.json", timeout=30).json()
    assert served["openapi"].startswith("3.")
    assert sorted(served["paths"]) == sorted(_document()["paths"])
    assert "token" in served["components"]["securitySchemes"]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("method,path", OPERATIONS, ids=[f"{m} {p[len('/api/v3'):]}" for m, p in OPERATIONS])
def test_route_keeps_to_its_schema(api_server, tokens, seeded, schema, method, path, mode):
    operation = schema[path][method]
    session = _session(tokens[SEED_OWNER])
    params = {name for name in _path_names(path)}
    pinned_choices = [{}]
    if {"owner", "repo"} <= params:
        pinned_choices.append({"owner": SEED_OWNER, "repo": SEED_REPO})
    destructive = (method, path) in DESTRUCTIVE

    strategies = [operation.as_strategy(generation_mode=mode, path_parameters=pinned or None)
                  for pinned in pinned_choices]

    # Invalid input is mostly refused at the door (422), so it gets half the examples.
    examples = EXAMPLES if mode == GenerationMode.POSITIVE else max(1, EXAMPLES // 2)

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(*strategies))
    def run(case):
        if destructive and case.path_parameters.get("owner") == SEED_OWNER:
            case.path_parameters["repo"] = _throwaway(api_server, session)
        response = case.call(base_url=api_server.url, session=session)
        if response.status_code == URI_TOO_LONG:
            return
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except Unsatisfiable:
        if mode != GenerationMode.NEGATIVE:
            raise
        pytest.skip("no input of this route can be made invalid (its parameters are free strings)")


def _path_names(path):
    return [part[1:-1].split(":")[-1] for part in path.split("/") if part.startswith("{")]
