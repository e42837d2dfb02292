"""Fuzzing the forwarder action with datahub-actions envelopes (issue 10): no crash, no silent drop of our
requests, never a FAILURE onto another executor's request or onto a run because of its cancel.

Bounded for the suite (300 envelopes, a few seconds); bench/bench_fuzz_forwarder.py runs 10,000+.
The strategies, fakes and invariants are in forwarder_fuzz.py.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings

from tests.unit.forwarder.mcl_events import execution_input, input_envelope, mcl_envelope
from tests.unit.fuzz.forwarder_fuzz import (
    INPUT,
    SIGNAL,
    Envelope,
    FakeGraph,
    FakeSender,
    envelopes,
    make_action,
    quiet_forwarder_logs,
    run_envelope,
)

URN = "urn:li:dataHubExecutionRequest:x-1"


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
@given(case=envelopes())
def test_fuzz_forwarder_envelopes_never_crash_drop_or_fail_others(case: Envelope):
    with quiet_forwarder_logs():
        outcome = run_envelope(case)
    assert outcome.violations == []


def test_forwarder_unreadable_cancel_of_our_running_request_writes_no_failure():
    """Found by the fuzz: a cancel whose aspect cannot be decoded wrote FAILURE onto the run it names
    (GMS's stored input is ours), while the run went on in ECS and DataHub showed a false status."""
    # GIVEN GMS holds our run request, and its cancel's change event carries bytes that are not JSON
    graph = FakeGraph(stored={URN: execution_input("remote")})
    action = make_action(FakeSender(), graph, claim=False)

    # WHEN
    acknowledged = action.act(mcl_envelope(URN, SIGNAL, b'{"signal": "KI'))

    # THEN the event is skipped (logged) and nothing is written onto the run
    assert acknowledged is True
    assert graph.results == []


def test_forwarder_cancel_with_a_non_string_executor_id_is_forwarded():
    """Found by the fuzz: `executorId: [..]` on a cancel raised TypeError (unhashable) inside decide(), and
    the cancel was skipped as an unexpected error instead of forwarded like any cancel naming no executor."""
    sender = FakeSender()
    action = make_action(sender, FakeGraph(), claim=False)

    action.act(mcl_envelope(URN, SIGNAL, b'{"signal": "KILL", "executorId": [null]}'))

    assert [json.loads(body)["entityUrn"] for body, _ in sender.sent] == [URN]
    assert sender.sent[0][1] == {"executorId": "(unnamed)", "aspectName": SIGNAL}


def test_fuzz_forwarder_oracle_reports_forwarding_what_is_not_ours():
    """The invariants can fail: an input forwarded although the event names another executor."""
    case = Envelope(
        envelope=input_envelope("x-1", "remote"),
        urn=URN,
        aspect_name=INPUT,
        stored=execution_input("remote"),
        event_executor="edge",  # the oracle is told the event names "edge"; the forwarder sees "remote"
        event_task="RUN_INGEST",
    )
    outcome = run_envelope(case)
    assert outcome.result == "forwarded"
    assert any("not ours" in violation for violation in outcome.violations)


def test_fuzz_forwarder_oracle_reports_a_silent_drop():
    case = Envelope(
        envelope=input_envelope("x-1", "edge"),
        urn=URN,
        aspect_name=INPUT,
        event_executor="remote",  # the oracle is told it is ours; the forwarder sees "edge" and skips it
        event_task="RUN_INGEST",
    )
    outcome = run_envelope(case)
    assert outcome.result == "skipped"
    assert any("silent drop" in violation for violation in outcome.violations)
