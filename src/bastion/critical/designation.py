"""The designation as a pure computation (DESIGN.md principle 4).

Inputs are plain data: installer downloads per normalized name, the runtime dependency graph (or
a function the walk asks for the part of it that it reaches), the policy, the designations already
in force and the names an admin removed. The output is the new critical set with a reason for
every name. Nothing here touches the database, so the same function answers ``--dry-run``, the
daily job and the tests with a known answer.

The cut-off, stated once:

* Every name with at least one installer download in the window is ranked, hosted here or not.
* Ranks are competition ranks: a name's rank is 1 + the number of names with strictly more
  downloads, so tied names share a rank and nothing depends on alphabetical order.
* The cut-off rank is ``ceil(top_percent / 100 * ranked)``, raised to the minimum cohort and capped
  at the number of ranked names. The cut-off downloads are the downloads of the name at that
  position in the ranking.
* **Ties:** every name with downloads >= the cut-off downloads is critical. A tie at the cut-off
  therefore designates all tied names, and the cohort may exceed the cut-off rank.

Dependencies: when the policy follows them, every name reachable from a critical name (by rank,
by an admin, or kept from before) through runtime dependency edges is critical. The reason records
the shortest path, found breadth-first from the roots in a fixed order (rank, then name), so it
is the same on every run and cycles end the walk instead of looping.

Designations are sticky: a name designated before stays designated, with its original reason,
until an admin removes it. A name an admin removed is not designated again by the job.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from bastion.critical.policy import Policy


@dataclass(frozen=True)
class ByDownloads:
    """Critical because of its own downloads."""

    rank: int
    downloads: int
    ranked_names: int
    cutoff_rank: int
    cutoff_downloads: int
    since: str = ""
    until: str = ""

    kind = "downloads"

    @property
    def top_percent(self) -> float:
        """Where the name sits: rank 1 of 1,000 is the top 0.1%."""
        return 100.0 * self.rank / self.ranked_names

    def describe(self) -> str:
        window = f" from {self.since} to {self.until}" if self.since else ""
        return (
            f"rank {self.rank:,} of {self.ranked_names:,} names by installer downloads "
            f"(top {self.top_percent:.3g}%), {self.downloads:,} downloads{window}; "
            f"the cut-off is rank {self.cutoff_rank:,} with {self.cutoff_downloads:,} downloads"
        )

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "rank": self.rank,
            "downloads": self.downloads,
            "ranked_names": self.ranked_names,
            "cutoff_rank": self.cutoff_rank,
            "cutoff_downloads": self.cutoff_downloads,
            "top_percent": round(self.top_percent, 6),
            "since": self.since,
            "until": self.until,
        }


@dataclass(frozen=True)
class ByDependency:
    """Critical because a critical project needs it at run time. ``path`` ends with this name."""

    path: tuple[str, ...]

    kind = "dependency"

    def describe(self) -> str:
        return "required by " + " → ".join(self.path)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "path": list(self.path)}


@dataclass(frozen=True)
class ByAdmin:
    """Critical because an admin said so, with the admin's note."""

    admin: str
    note: str

    kind = "admin"

    def describe(self) -> str:
        return f"designated by the admin {self.admin}: {self.note}"

    def as_dict(self) -> dict:
        return {"kind": self.kind, "admin": self.admin, "note": self.note}


Reason = ByDownloads | ByDependency | ByAdmin


def reason_from_dict(data: Mapping) -> Reason:
    """Read back a reason stored with :meth:`as_dict`."""
    kind = data["kind"]
    if kind == ByDownloads.kind:
        fields = ("rank", "downloads", "ranked_names", "cutoff_rank", "cutoff_downloads")
        return ByDownloads(
            **{key: int(data[key]) for key in fields},
            since=data.get("since", ""),
            until=data.get("until", ""),
        )
    if kind == ByDependency.kind:
        return ByDependency(tuple(data["path"]))
    if kind == ByAdmin.kind:
        return ByAdmin(admin=data["admin"], note=data["note"])
    raise ValueError(f"unknown designation reason {kind!r}")


@dataclass
class Outcome:
    """The new critical set and how it came about."""

    critical: dict[str, Reason] = field(default_factory=dict)  # every name, its first reason
    added: dict[str, Reason] = field(default_factory=dict)  # names designated by this run
    qualifying: dict[str, Reason] = field(default_factory=dict)  # why each name qualifies today
    ranked_names: int = 0
    cutoff_rank: int = 0
    cutoff_downloads: int = 0

    @property
    def kept(self) -> list[str]:
        """Names that stay critical only because designations are sticky."""
        return sorted(name for name in self.critical if name not in self.qualifying)


def rank_by_downloads(
    downloads: Mapping[str, int], policy: Policy, *, since: str = "", until: str = ""
) -> tuple[dict[str, ByDownloads], int, int, int]:
    """The names critical by their own downloads; also the ranked count and the cut-off.

    Only the counts are sorted in full; names are ordered only above the cut-off, which at
    PyPI's size is 5,000 of 500,000.
    """
    counts = sorted((count for count in downloads.values() if count > 0), reverse=True)
    total = len(counts)
    if total == 0:
        return {}, 0, 0, 0
    cutoff_rank = min(total, max(math.ceil(policy.top_percent / 100.0 * total), policy.min_cohort))
    if cutoff_rank == 0:
        return {}, total, 0, 0
    cutoff_downloads = counts[cutoff_rank - 1]
    ranked = sorted(
        ((count, name) for name, count in downloads.items() if count >= cutoff_downloads),
        key=lambda pair: (-pair[0], pair[1]),
    )
    chosen: dict[str, ByDownloads] = {}
    rank = 0
    previous_count = None
    for position, (count, name) in enumerate(ranked, start=1):
        if count != previous_count:
            rank, previous_count = position, count
        chosen[name] = ByDownloads(
            rank=rank,
            downloads=count,
            ranked_names=total,
            cutoff_rank=cutoff_rank,
            cutoff_downloads=cutoff_downloads,
            since=since,
            until=until,
        )
    return chosen, total, cutoff_rank, cutoff_downloads


#: The runtime dependency graph: a mapping from a name to the names it needs, or a function that
#: answers that for a batch of names (the job reads only the part of a large graph it walks).
Dependencies = Mapping[str, Iterable[str]] | Callable[[list[str]], Mapping[str, Iterable[str]]]


def dependency_closure(
    roots: Iterable[str], dependencies: Dependencies
) -> dict[str, tuple[str, ...]]:
    """Every name reachable from ``roots`` (roots excluded), with its shortest path from a root.

    Breadth-first from all roots at once, in the order given, visiting each name's dependencies in
    sorted order: the path found is a shortest one and the same on every run. A visited name is
    never queued again, which is what ends cycles. The walk goes one distance at a time, and
    asks a function for the needs of that whole frontier at once.
    """
    needs = dependencies if callable(dependencies) else lambda _frontier: dependencies
    parent: dict[str, str | None] = {}
    frontier: list[str] = []
    for root in roots:
        if root not in parent:
            parent[root] = None
            frontier.append(root)
    root_names = set(parent)
    while frontier:
        needed_by = needs(frontier)
        following: list[str] = []
        for name in frontier:
            for dependency in sorted(needed_by.get(name) or ()):
                if dependency not in parent:
                    parent[dependency] = name
                    following.append(dependency)
        frontier = following
    paths: dict[str, tuple[str, ...]] = {}
    for name in parent:
        if name in root_names:
            continue
        path = [name]
        step = parent[name]
        while step is not None:
            path.append(step)
            step = parent[step]
        paths[name] = tuple(reversed(path))
    return paths


def compute(
    *,
    downloads: Mapping[str, int],
    dependencies: Dependencies,
    policy: Policy,
    previous: Mapping[str, Reason],
    removed: Iterable[str] = (),
    since: str = "",
    until: str = "",
) -> Outcome:
    """The new critical set: ranked names, admin designations, what they need, and what stays.

    ``previous`` holds the designations in force (admin ones included) with their first reason.
    ``removed`` holds names an admin took off the list; the job never puts them back.
    """
    removed = set(removed)
    by_rank, ranked_names, cutoff_rank, cutoff_downloads = rank_by_downloads(
        downloads, policy, since=since, until=until
    )
    qualifying: dict[str, Reason] = {
        name: reason for name, reason in by_rank.items() if name not in removed
    }
    for name, reason in previous.items():
        if isinstance(reason, ByAdmin):
            qualifying.setdefault(name, reason)
    if policy.follow_dependencies:
        roots = list(qualifying) + sorted(name for name in previous if name not in qualifying)
        for name, path in dependency_closure(roots, dependencies).items():
            if name not in removed:
                qualifying.setdefault(name, ByDependency(path))

    outcome = Outcome(
        qualifying=qualifying,
        ranked_names=ranked_names,
        cutoff_rank=cutoff_rank,
        cutoff_downloads=cutoff_downloads,
    )
    outcome.critical = dict(previous)
    for name, reason in qualifying.items():
        if name not in outcome.critical:
            outcome.critical[name] = reason
            outcome.added[name] = reason
    return outcome
