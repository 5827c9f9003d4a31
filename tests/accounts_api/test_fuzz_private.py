"""Fuzzing the private API from its OpenAPI schema (schemathesis), with every request signed as a
Backpack client library signs it: no server error, every response as the schema describes it
(the error codes included), and no operation answering without authentication.

The operations that send a command to the engine run against the real engine process; the rest
need only the database and Redis."""

from __future__ import annotations

import base64
import time

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
)

from accounts import signing
from accounts.models import ApiKey

pytestmark = pytest.mark.services

# A fixed key for the fuzzing account: the auth provider below is made by schemathesis, not by
# a fixture, so it signs with a secret known in advance.
FUZZ_SECRET = base64.b64encode(bytes(range(32))).decode()
FUZZ_API_KEY = signing.public_key_of(FUZZ_SECRET)

ENGINE_OPERATIONS = ["executeOrder", "cancelOrder", "executeOrders", "cancelOpenOrders", "requestWithdrawal"]

api = schemathesis.openapi.from_wsgi("/api/schema", get_wsgi_application())


def _as_sent(value: object) -> str:
    """A query value as the request carries it (and as the server then signs it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@api.auth(refresh_interval=None)
class BackpackSignature:
    """The four headers of a signed request, over the case's own parameters."""

    def get(self, case, context) -> str:
        return FUZZ_SECRET

    def set(self, case, secret: str, context) -> None:
        if case.method.upper() == "GET":
            case.query = {name: _as_sent(value) for name, value in (case.query or {}).items()}
            params = case.query
        elif isinstance(case.body, dict) or (
            isinstance(case.body, list) and all(isinstance(item, dict) for item in case.body)
        ):
            params = case.body
        else:
            params = {}  # not a JSON object (or array of them): refused before its signature is checked
        instruction = case.operation.definition.raw["x-signing-instruction"]
        timestamp = time.time_ns() // 1_000_000
        headers = signing.signed_headers(secret, instruction, params, timestamp, signing.MAX_WINDOW_MS)
        case.headers = {**(case.headers or {}), **headers}


def _signed(ctx) -> bool:
    return "x-signing-instruction" in ctx.operation.definition.raw


without_engine = api.include(_signed).exclude(operation_id=ENGINE_OPERATIONS)
with_engine = api.include(operation_id=ENGINE_OPERATIONS)

# Every check but three. Unknown parameters are ignored, as Backpack does, so negative data is
# not always refused; well-formed data can still be refused on purpose (a symbol that is not a
# market, funds the account does not have, an operation this exchange does not offer); and a
# request without one of the signature headers is 401 by contract, where that check wants 406
# (ignored_auth, which stays, checks that nothing is answered without a valid signature).
EXCLUDED_CHECKS = [negative_data_rejection, positive_data_acceptance, missing_required_header]


@pytest.fixture
def fuzzer(transactional_db, make_trader):
    """The fuzzing account, with the fixed key."""
    trader = make_trader("fuzzer")
    ApiKey.objects.create(user=trader.user, public_key=FUZZ_API_KEY, label="fuzz")
    return trader


@without_engine.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzed_signed_requests_get_no_server_error_and_match_the_schema(case, fuzzer, sol_usdc):
    case.call_and_validate(excluded_checks=EXCLUDED_CHECKS)


@pytest.fixture
def funded_fuzzer(fuzzer, fund, demo_markets):
    """The fuzzing account with funds in the demo markets of the running engine, so that the
    orders and withdrawals that are well-formed are carried out."""
    fund(fuzzer.user, "USDC", "100000")
    fund(fuzzer.user, "SOL", "1000")
    return fuzzer


@with_engine.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzed_signed_commands_to_the_engine_get_no_server_error_and_match_the_schema(case, funded_fuzzer):
    case.call_and_validate(excluded_checks=EXCLUDED_CHECKS)
