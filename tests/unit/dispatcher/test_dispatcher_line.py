"""The waiting line's order (issue 14 item 1): first come, first served, the sources taking turns."""

from __future__ import annotations

import pytest
from dispatcher.line import Place, ahead_of, fair_order, free_slots


def _place(tenant: str, since: int, run: str) -> Place:
    return Place(since, tenant, run)


def test_fair_order_interleaves_sources_by_turn_oldest_first() -> None:
    # GIVEN source a's burst of four, then b's one run, then c's two
    line = [_place("a", 100 + i, f"a{i}") for i in range(4)] + [_place("b", 200, "b0")]
    line += [_place("c", 300, "c0"), _place("c", 301, "c1")]
    # THEN every source's first run comes before any source's second
    assert [p.run_id for p in fair_order(line)] == ["a0", "b0", "c0", "a1", "c1", "a2", "a3"]


def test_a_new_run_of_a_quiet_source_is_one_turn_from_the_front() -> None:
    burst = [_place("a", 100 + i, f"a{i}") for i in range(50)]
    assert ahead_of(_place("b", 999, "b0"), burst) == 1  # only a's oldest waiting run is before it
    assert ahead_of(_place("a", 999, "a-new"), burst) == 50  # a's own new run queues behind a's burst


def test_a_new_run_never_overtakes_an_older_waiting_run_of_its_turn() -> None:
    line = [_place("x", 100, "x3")]
    assert ahead_of(_place("y", 200, "y1"), line) == 1
    assert ahead_of(_place("x", 100, "x3"), line) == 0  # its own place does not count


def test_place_key_round_trips_and_rejects_foreign_keys() -> None:
    place = Place.of(1764140000000, "urn:li:dataHubIngestionSource:s", "3f1c2a9e")
    assert Place.from_key(place.key) == place
    assert place.key.startswith("waiting/1764140000000/")
    assert Place.from_key("waiting/not-a-time/x/y") is None


@pytest.mark.parametrize(
    ("runs", "vcpus", "max_runs", "max_vcpus", "run_vcpus", "free"),
    [
        (3, 0, 5, 0, 1, 2),
        (5, 0, 5, 0, 1, 0),
        (7, 0, 5, 0, 1, 0),
        (0, 3, 0, 4, 1, 1),
        (0, 3, 0, 4, 2, 0),
        (2, 2, 5, 6, 1, 3),
    ],
)
def test_free_slots_under_the_limits(runs, vcpus, max_runs, max_vcpus, run_vcpus, free) -> None:
    assert free_slots(runs, vcpus, max_runs, max_vcpus, run_vcpus) == free
