"""The Markdown tables of one run: the numbers side by side, then Bastion's ratios to each."""

from __future__ import annotations

LABELS = {
    "bastion": "Bastion",
    "devpi": "devpi-server",
    "pypiserver": "pypiserver",
    "nginx": "nginx (static)",
}
WRK_TIMEOUT_MS = 10_000  # measure.wrk runs with --timeout 10s
PAGES = (
    ("project_html", "project page, HTML"),
    ("project_json", "project page, JSON"),
    ("root_html", "root page, HTML"),
    ("root_json", "root page, JSON"),
)


def _read(result: dict, key: str, field: str) -> float | None:
    """A wrk number; when no request finished at full concurrency, requests/s come from the
    one-connection rerun and p99 has no value (it exceeded the run)."""
    read = result.get("reads", {}).get(key, {})
    if read.get("result") != "ok":
        return None
    if "one_connection" in read and not read.get("requests"):
        return read["one_connection"]["requests_per_s"] if field == "requests_per_s" else None
    return read.get(field)


def _read_notes(result: dict, key: str, label: str) -> dict[str, str]:
    read = result.get("reads", {}).get(key, {})
    rate, p99 = f"{label}: requests/s", f"{label}: p99 ms"
    if read.get("result") != "ok":
        return {rate: read.get("result", "n/a"), p99: read.get("result", "n/a")}
    if "one_connection" in read and not read.get("requests"):
        return {rate: " (1 connection)", p99: f"none done in {_seconds(read)} s"}
    notes = {}
    errors = sum(read.get("socket_errors", {}).values()) + read.get("non_2xx_3xx", 0)
    if errors:
        notes[rate] = f" ({errors:,} errors)"
    if read.get("p99_ms") and read["p99_ms"] >= WRK_TIMEOUT_MS:
        notes[p99] = " (wrk's timeout)"
    return notes


def _seconds(read: dict) -> str:
    return read["command"].split("-d", 1)[1].split("s", 1)[0]


def _timed(result: dict, key: str) -> float | None:
    step = result.get(key, {})
    return step.get("seconds") if step.get("result") == "ok" else None


def metrics(result: dict) -> list[tuple[str, float | None, str, bool]]:
    """(row label, value, suffix, higher is better) for one server."""
    rows = []
    for key, label in PAGES:
        rows.append((f"{label}: requests/s", _read(result, key, "requests_per_s"), "", True))
        rows.append((f"{label}: p99 ms", _read(result, key, "p99_ms"), "", False))
    rows.append(("`pip download` of 20 projects: s", _timed(result, "pip_download"), "", False))
    rows.append(("`twine upload` of 200 files: s", _timed(result, "twine_upload"), "", False))
    load = result.get("load", {})
    rows.append(("bulk load of the index: s", load.get("seconds"), "", False))
    rss = result.get("rss", {}).get("peak_kib")
    rows.append(("peak RSS of the process tree: MiB", rss / 1024 if rss else None, "", False))
    return rows


def _cell(value: float | None, note: str = "") -> str:
    if value is None:
        return note.strip() or "n/a"
    text = f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"
    return text + note


def _ratio(mine: float | None, theirs: float | None) -> str:
    if not mine or not theirs:
        return "n/a"
    ratio = mine / theirs
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.2g}x" if ratio < 0.1 else f"{ratio:.2f}x"


def markdown(run: dict) -> str:
    names = list(run["servers"])
    table = {name: metrics(run["servers"][name]) for name in names}
    labels = [row[0] for row in next(iter(table.values()))]
    notes = {name: {} for name in names}
    for name in names:
        for key, label in PAGES:
            notes[name] |= _read_notes(run["servers"][name], key, label)
    for name in names:
        for key, label in (("pip_download", "`pip"), ("twine_upload", "`twine")):
            step = run["servers"][name].get(key, {})
            row = next(r for r in labels if r.startswith(label))
            notes[name][row] = "" if step.get("result") == "ok" else step.get("result", "n/a")

    lines = ["| measure | " + " | ".join(LABELS[n] for n in names) + " |"]
    lines.append("|---|" + "---:|" * len(names))
    for index, label in enumerate(labels):
        cells = [_cell(table[n][index][1], notes[n].get(label, "")) for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    if "bastion" in names and len(names) > 1:
        others = [n for n in names if n != "bastion"]
        lines += ["", "| Bastion ÷ other | " + " | ".join(LABELS[n] for n in others) + " |"]
        lines.append("|---|" + "---:|" * len(others))
        for index, label in enumerate(labels):
            mine = table["bastion"][index][1]
            cells = []
            for other in others:
                theirs = table[other][index][1]
                cells.append(_ratio(mine, theirs))
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
