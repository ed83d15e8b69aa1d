"""The JSON API against its own OpenAPI schema: requests generated from /openapi.json (schemathesis), at
least 400 per operation, get no 5xx and answers that match the schema."""
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from qa.serve.api import add_api


@pytest.fixture(scope="module")
def engine_under_fuzz(tmp_path_factory):
    from conftest import CATALOG, DOCS, HashEncoder, write_corpus
    from qa import Engine
    root = tmp_path_factory.mktemp("api")
    return Engine(data_dir=write_corpus(root / "data", DOCS, CATALOG), index_dir=root / "index",
                  encoder=HashEncoder(), progress=False)


@pytest.fixture(scope="module")
def api(engine_under_fuzz):
    """The API over the tiny corpus with the fake encoder, in process (no network), with an admin token
    the generated requests do not know."""
    app = FastAPI()
    add_api(app, engine_under_fuzz, token="a-token-the-fuzzer-does-not-have")
    return app


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def api_schema(api):
    # A body over 64 KB is refused whole with a documented 413 before any field is read: a rejection too.
    config = schemathesis.Config.from_str(
        '[checks.negative_data_rejection]\nexpected-statuses = ["401", "403", "413", "422"]\n')
    return schemathesis.openapi.from_asgi("/openapi.json", api, config=config)


@schema.parametrize()
@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_generated_requests_get_no_server_error_and_answers_match_the_schema(case):
    # Every check but "schema-valid data is accepted": a district or document id must name one of the
    # corpus's (a documented 422 otherwise), which a schema written before uploads cannot list. And for
    # the multipart upload, "schema-violating data is rejected" too: a form has no types, so a district
    # sent as the text "null" or a file whose bytes are "null" is valid there (a bad file gets its 422).
    excluded = [positive_data_acceptance]
    if case.method == "POST" and case.path == "/api/documents":
        excluded.append(negative_data_rejection)
    case.call_and_validate(excluded_checks=excluded)


def test_the_generated_requests_without_the_token_left_every_document_in_place(engine_under_fuzz):
    from conftest import DOCS
    assert sorted(d.doc_id for d in engine_under_fuzz.listing().documents) == sorted(DOCS)
    assert sorted(p.stem for p in engine_under_fuzz.settings.data_dir.glob("*.txt")) == sorted(DOCS)
