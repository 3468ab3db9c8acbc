"""The designation computation against inputs whose answer is known by construction."""

import itertools
import math
import random

import pytest

from bastion.critical.designation import (
    ByAdmin,
    ByDependency,
    ByDownloads,
    compute,
    dependency_closure,
    reason_from_dict,
)
from bastion.critical.policy import Policy

POLICY = Policy(top_percent=10.0, min_cohort=1)


def hundred_names() -> dict[str, int]:
    """name-001 has 100,000 downloads, name-002 99,000 ... name-100 1,000: no ties."""
    return {f"name-{i:03d}": (101 - i) * 1000 for i in range(1, 101)}


def test_top_percent_of_ranked_names_is_critical_by_rank():
    outcome = compute(downloads=hundred_names(), dependencies={}, policy=POLICY, previous={})
    assert sorted(outcome.critical) == [f"name-{i:03d}" for i in range(1, 11)]
    third = outcome.critical["name-003"]
    assert isinstance(third, ByDownloads)
    assert (third.rank, third.downloads, third.cutoff_rank) == (3, 98_000, 10)
    assert third.cutoff_downloads == 91_000
    assert third.top_percent == pytest.approx(3.0)
    assert "rank 3 of 100" in third.describe() and "top 3%" in third.describe()


def test_cutoff_rounds_up_so_a_fraction_of_a_name_still_counts():
    downloads = {f"p{i}": 1000 - i for i in range(250)}
    outcome = compute(downloads=downloads, dependencies={}, policy=Policy(), previous={})
    assert outcome.cutoff_rank == 3  # ceil(1% of 250 = 2.5)
    assert sorted(outcome.critical) == ["p0", "p1", "p2"]


def test_every_name_tied_at_the_cutoff_is_critical_and_shares_the_rank():
    downloads = hundred_names()
    for name in ("name-009", "name-010", "name-011", "name-012"):
        downloads[name] = 5_000_000 if name == "name-009" else 92_000
    outcome = compute(downloads=downloads, dependencies={}, policy=POLICY, previous={})
    # name-009 moved to the top; name-010..012 tie at 92,000, which is the cut-off (rank 10).
    assert outcome.cutoff_downloads == 92_000
    assert {"name-010", "name-011", "name-012"} <= set(outcome.critical)
    assert len(outcome.critical) == 12
    ranks = {outcome.critical[n].rank for n in ("name-010", "name-011", "name-012")}
    assert ranks == {10}
    assert "name-013" not in outcome.critical


def test_names_without_downloads_are_not_ranked_and_the_minimum_cohort_applies():
    downloads = {"a": 10, "b": 5, "c": 0, "d": 0}
    outcome = compute(
        downloads=downloads, dependencies={}, policy=Policy(min_cohort=2), previous={}
    )
    assert outcome.ranked_names == 2
    assert sorted(outcome.critical) == ["a", "b"]
    assert compute(downloads={}, dependencies={}, policy=Policy(), previous={}).critical == {}


def test_runtime_dependencies_are_critical_with_the_path_through_cycles():
    graph = {
        "name-001": {"urllib3", "idna"},
        "urllib3": {"brotli", "name-001"},  # a cycle back to the root
        "brotli": {"urllib3"},  # and one among dependencies
        "name-050": {"untouched"},
    }
    outcome = compute(downloads=hundred_names(), dependencies=graph, policy=POLICY, previous={})
    assert outcome.critical["urllib3"] == ByDependency(("name-001", "urllib3"))
    assert outcome.critical["brotli"] == ByDependency(("name-001", "urllib3", "brotli"))
    assert outcome.critical["brotli"].describe() == "required by name-001 → urllib3 → brotli"
    assert "untouched" not in outcome.critical
    assert len(outcome.critical) == 13


def test_dependencies_are_ignored_when_the_policy_says_so():
    graph = {"name-001": {"urllib3"}}
    policy = Policy(top_percent=10.0, follow_dependencies=False)
    outcome = compute(downloads=hundred_names(), dependencies=graph, policy=policy, previous={})
    assert "urllib3" not in outcome.critical


def test_a_ranked_name_keeps_its_rank_reason_even_when_it_is_also_a_dependency():
    graph = {"name-001": {"name-002"}}
    outcome = compute(downloads=hundred_names(), dependencies=graph, policy=POLICY, previous={})
    assert isinstance(outcome.critical["name-002"], ByDownloads)


def test_designations_are_sticky_with_their_first_reason():
    first = compute(downloads=hundred_names(), dependencies={}, policy=POLICY, previous={})
    fallen = hundred_names()
    fallen["name-001"] = 1  # it no longer qualifies by rank
    second = compute(downloads=fallen, dependencies={}, policy=POLICY, previous=first.critical)
    assert second.critical["name-001"] == first.critical["name-001"]
    assert second.kept == ["name-001"]
    assert list(second.added) == ["name-011"]  # the new tenth place
    third = compute(downloads=fallen, dependencies={}, policy=POLICY, previous=second.critical)
    assert third.added == {} and third.critical == second.critical


def test_dependencies_of_sticky_and_admin_designations_are_critical():
    previous = {
        "old-star": ByDownloads(1, 9, 10, 1, 9),
        "pypi-itself": ByAdmin(admin="root", note="the index's own dependency"),
    }
    graph = {"old-star": {"leftpad"}, "pypi-itself": {"django"}}
    outcome = compute(downloads={}, dependencies=graph, policy=POLICY, previous=previous)
    assert outcome.critical["leftpad"] == ByDependency(("old-star", "leftpad"))
    assert outcome.critical["django"] == ByDependency(("pypi-itself", "django"))
    assert set(outcome.qualifying) == {"pypi-itself", "leftpad", "django"}


def test_a_name_an_admin_removed_is_not_designated_again():
    graph = {"name-001": {"vendored"}}
    outcome = compute(
        downloads=hundred_names(),
        dependencies=graph,
        policy=POLICY,
        previous={},
        removed={"name-002", "vendored"},
    )
    assert "name-002" not in outcome.critical and "vendored" not in outcome.critical
    assert len(outcome.critical) == 9


def test_closure_matches_a_brute_force_answer_on_a_random_graph():
    rng = random.Random(7)  # noqa: S311 - a reproducible graph, not a secret
    names = [f"n{i}" for i in range(300)]
    graph = {name: set(rng.sample(names, rng.randint(0, 3))) for name in names}
    roots = ["n0", "n1"]
    expected = set()
    frontier = set(roots)
    while frontier:
        step = set().union(*(graph[n] for n in frontier)) - expected - set(roots)
        expected |= step
        frontier = step
    paths = dependency_closure(roots, graph)
    assert set(paths) == expected
    for name, path in paths.items():
        assert path[0] in roots and path[-1] == name
        assert all(b in graph[a] for a, b in itertools.pairwise(path))


@pytest.mark.parametrize(
    "reason",
    [
        ByDownloads(2, 50, 400, 4, 40, "2026-01-01", "2026-06-30"),
        ByDependency(("a", "b")),
        ByAdmin("root", "why"),
    ],
)
def test_reasons_round_trip_through_their_stored_form(reason):
    assert reason_from_dict(reason.as_dict()) == reason


@pytest.mark.parametrize("seed", range(5))
def test_ranking_matches_the_stated_rule_on_random_downloads_full_of_ties(seed):
    rng = random.Random(seed)  # noqa: S311 - a reproducible input, not a secret
    downloads = {f"n{i}": rng.choice([0, 1, 2, 3, 5, 8, 8, 13]) for i in range(777)}
    policy = Policy(top_percent=rng.choice([0.5, 1.0, 7.0, 33.0]), min_cohort=rng.choice([1, 9]))
    outcome = compute(downloads=downloads, dependencies={}, policy=policy, previous={})
    ranked = sorted((c for c in downloads.values() if c > 0), reverse=True)
    wanted = max(math.ceil(len(ranked) * policy.top_percent / 100), policy.min_cohort)
    cutoff = ranked[min(len(ranked), wanted) - 1]
    assert set(outcome.critical) == {n for n, c in downloads.items() if c >= cutoff and c > 0}
    for name, reason in outcome.critical.items():
        assert reason.rank == 1 + sum(1 for c in ranked if c > downloads[name])


def test_the_walk_asks_a_function_for_one_whole_distance_at_a_time():
    """The job reads only the part of PyPI's graph it reaches, a frontier per query."""
    graph = {"a": {"c", "b"}, "b": {"d"}, "c": {"d", "a"}, "x": {"a"}, "d": set()}
    asked = []

    def needs(frontier):
        asked.append(list(frontier))
        return {name: graph[name] for name in frontier if name in graph}

    assert dependency_closure(["x"], needs) == dependency_closure(["x"], graph)
    assert asked == [["x"], ["a"], ["b", "c"], ["d"]]
