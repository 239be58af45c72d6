"""`python -m attendance_bench.compare`: one year of rows against six, from bench results.

    python -m attendance_bench.compare --one a1.json a2.json --six b1.json b2.json

Each side is one or more result documents of `python -m attendance_bench` (`--out`), the
"one" side run with `--history 1` and the "six" side with `--history 5`, alternated in one
sitting because this machine's speed moves from hour to hour. One earlier year, not none:
from its second year a school's autumn reads last year back (docs/performance.md, "Six years
of rows"), so against no earlier year at all the table would measure that, not the years
piling up. A figure is the median of its side's runs. Prints a Markdown table: each figure
on both sides, how many times slower six years are, and the issue's limit (1.5 times for the
reads, 1.2 for ingest and CPU).
"""

import argparse
import json
import statistics
from collections.abc import Callable
from pathlib import Path

QUERY_LIMIT, INGEST_LIMIT = 1.5, 1.2
QUERIES = {
    "school_summary": "school summary p95, ms",
    "pupil_figures": "a pupil's figures p95, ms",
    "flagged_list": "flag list p95, ms",
    "register_read": "register read p95, ms",
    "register_as_at": "register read as at a past moment p95, ms",
    "la_return_compile": "LA attendance return p95, ms",
}

# (label, how to read it, higher is better, limit on the slowdown)
Measure = tuple[str, Callable[[dict], float], bool, float | None]
MEASURES: list[Measure] = [
    ("register ingest, marks/s", lambda r: r["ingest"]["marks_per_second"], True, INGEST_LIMIT),
    ("CPU per mark event, whole stack, µs", lambda r: r["cpu_flat_out"]["stack_us_per_event"], False, INGEST_LIMIT),
    ("CPU per mark event over the client's", lambda r: r["cpu_flat_out"]["stack_over_client"], False, INGEST_LIMIT),
    ("PostgreSQL WAL per mark event, bytes", lambda r: r["wal_flat_out"]["bytes_per_mark_event"], False, None),
    ("end to end, marks/s", lambda r: r["end_to_end"]["end_to_end_marks_per_second"], True, None),
    ("freshness p99 at the paced rate, s", lambda r: r["paced"]["freshness_p99_s"], False, None),
    *[(label, lambda r, q=q: r["queries"][q]["p95_ms"], False, QUERY_LIMIT) for q, label in QUERIES.items()],
]


def median_of(results: list[dict], read: Callable[[dict], float]) -> float | None:
    values = []
    for result in results:
        try:
            values.append(float(read(result)))
        except (KeyError, TypeError):
            continue
    return statistics.median(values) if values else None


def rows(one: list[dict], six: list[dict]) -> list[tuple[str, str, str, str, str]]:
    table = []
    for label, read, higher_is_better, limit in MEASURES:
        a, b = median_of(one, read), median_of(six, read)
        if a is None or b is None or not a or not b:
            continue
        slower = a / b if higher_is_better else b / a
        verdict = "-" if limit is None else ("within" if slower <= limit else "OVER") + f" {limit}x"
        table.append((label, f"{a:,.6g}", f"{b:,.6g}", f"{slower:.2f}", verdict))
    return table


def load(paths: list[Path]) -> list[dict]:
    return [json.loads(path.read_text())["results"] for path in paths]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--one", type=Path, nargs="+", required=True, help="results with one year of rows")
    parser.add_argument("--six", type=Path, nargs="+", required=True, help="results with six years of rows")
    args = parser.parse_args()
    one, six = load(args.one), load(args.six)
    years = {result.get("history", {}).get("years", 0) for result in six}
    print(f"one year: {len(one)} run(s); six years ({sorted(years)} earlier years copied in): {len(six)} run(s)\n")
    print("| figure | one year | six years | times slower | limit |")
    print("|---|---|---|---|---|")
    for row in rows(one, six):
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
