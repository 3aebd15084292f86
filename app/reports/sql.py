"""The few SQL fragments that differ between SQLite and PostgreSQL, and the percentile
query both stores share.

Report SQL is written as text with these fragments spliced in: only expressions built
here from code constants are spliced, never a value from outside (values are bound).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

US = 1_000_000  # microseconds per second: every report time is an integer of them


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def micros(expr: str, d: str) -> str:
    """Epoch microseconds of a stored timestamp, exactly (integer arithmetic)."""
    if d == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM {expr}) * 1000000 AS BIGINT)"
    # SQLAlchemy stores 'YYYY-MM-DD HH:MM:SS.ffffff'; julianday() would be off by ~40 µs.
    return (f"(CAST(strftime('%s', {expr}) AS INTEGER) * 1000000"
            f" + CAST(substr({expr} || '.000000', 21, 6) AS INTEGER))")


def seconds(expr: str, d: str) -> str:
    """Whole epoch seconds of a stored timestamp (for bucketing by hour and day)."""
    if d == "postgresql":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {expr})) AS BIGINT)"
    return f"CAST(strftime('%s', {expr}) AS INTEGER)"


def clamp(x: str, width: str, d: str) -> str:
    """x limited to [0, width]."""
    if d == "postgresql":
        return f"LEAST(GREATEST({x}, 0), {width})"
    return f"min(max({x}, 0), {width})"


def json_text(column: str, key: str, d: str) -> str:
    """A top-level string field of a JSON column."""
    if d == "postgresql":
        return f"({column} ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def json_rows(param: str, columns: Sequence[str], d: str) -> str:
    """A subquery of integer rows from a bound JSON array of objects."""
    if d == "postgresql":
        cols = ", ".join(f"{c} BIGINT" for c in columns)
        return f"(SELECT * FROM jsonb_to_recordset(CAST(:{param} AS JSONB)) AS x({cols}))"
    cols = ", ".join(f"json_extract(value, '$.{c}') AS {c}" for c in columns)
    return f"(SELECT {cols} FROM json_each(:{param}))"


PERCENTILES = (0.5, 0.9)


def stats_sql(source: str, values: Sequence[str], d: str,
              groups: Sequence[str] = ()) -> str:
    """Per group `g` of `source`: count, sum, median and p90 of each value column, over
    all rows and over the rows with f = 1 (names with `_f`): first responses are the
    reply spans with f = 1, so one sort serves both.

    Output columns: g, n, nf, then per value v: v_sum, v_p50, v_p90, v_f_sum, v_f_p50,
    v_f_p90. Values must not be null. `groups`, when the values of g are known constants,
    lets PostgreSQL aggregate each group on its own instead of sorting all rows by g
    first (an ordered-set aggregate cannot hash).

    Continuous percentiles (linear interpolation between the two nearest ranks), as
    PostgreSQL's percentile_cont computes them: rank r = p * (n - 1) from 0, result =
    v[floor(r)] + (v[floor(r) + 1] - v[floor(r)]) * (r - floor(r)). SQLite gets the same
    arithmetic from running counts over the sorted rows.
    """
    if d == "postgresql":
        parts = ["COUNT(*) AS n", "SUM(f) AS nf"]
        for v in values:
            for suffix, where in (("", ""), ("_f", " FILTER (WHERE f = 1)")):
                parts.append(f"SUM({v}){where} AS {v}{suffix}_sum")
                parts += [f"percentile_cont({p}) WITHIN GROUP (ORDER BY {v}){where} AS "
                          f"{v}{suffix}_p{int(p * 100)}" for p in PERCENTILES]
        if groups:
            return " UNION ALL ".join(
                f"SELECT '{g}' AS g, {', '.join(parts)} FROM ({source}) src WHERE g = '{g}'"
                for g in groups)
        return f"SELECT g, {', '.join(parts)} FROM ({source}) src GROUP BY g"
    return _sqlite_stats(source, values)


def _sqlite_stats(source: str, values: Sequence[str]) -> str:
    # c: per group, the counts, sums and the 1-based ranks each percentile reads
    # (computed once per group, not per row); r: every row with its running ranks, one
    # sort per value column; the rows at those ranks are kept and interpolated.
    totals, positions, windows, ranks = ["COUNT(*) AS n", "SUM(f) AS nf"], [], [], []
    picks, hits, outer, kept = [], [], ["g", "n", "nf"], ["c.g", "c.n", "c.nf"]
    for suffix, n in (("", "n"), ("_f", "nf")):
        for p in PERCENTILES:
            positions.append(f"CAST(({n} - 1) * {p} AS INTEGER) + 1 AS at{suffix}{int(p * 100)}")
    for v in values:
        totals += [f"SUM({v}) AS {v}_sum", f"SUM(CASE WHEN f = 1 THEN {v} END) AS {v}_f_sum"]
        windows.append(f"w_{v} AS (PARTITION BY g ORDER BY {v} ROWS UNBOUNDED PRECEDING)")
        # The rank among all rows and among the rows with f = 1, from one sort.
        ranks.append(f"COUNT(*) OVER w_{v} AS {v}_ra, SUM(f) OVER w_{v} AS {v}_rf")
        for suffix, n, rank, only in (("", "n", "ra", ""), ("_f", "nf", "rf", "r.f = 1 AND ")):
            outer.append(f"{v}{suffix}_sum")
            kept.append(f"c.{v}{suffix}_sum")
            for p in PERCENTILES:
                name, at = f"{v}{suffix}_p{int(p * 100)}", f"c.at{suffix}{int(p * 100)}"
                rank_of = f"{only}r.{v}_{rank}"
                picks += [f"MAX(CASE WHEN {rank_of} = {at} THEN r.{v} END) AS {name}_lo",
                          f"MAX(CASE WHEN {rank_of} = {at} + 1 THEN r.{v} END) AS {name}_hi"]
                hits.append(f"{rank_of} - {at} IN (0, 1)")
                frac = f"(({n} - 1) * {p} - CAST(({n} - 1) * {p} AS INTEGER))"
                outer.append(f"{name}_lo + (COALESCE({name}_hi, {name}_lo) - {name}_lo)"
                             f" * {frac} AS {name}")
    # CROSS JOIN keeps SQLite's loop order: the ranked rows stream past the few group
    # totals; joined the other way round, SQLite would store and index all of them.
    return (
        f"SELECT {', '.join(outer)} FROM ("
        f"SELECT {', '.join(kept)}, {', '.join(picks)}"
        f" FROM (SELECT g, f, {', '.join(values)}, {', '.join(ranks)} FROM ({source}) s1"
        f" WINDOW {', '.join(windows)}) r"
        f" CROSS JOIN (SELECT *, {', '.join(positions)} FROM ("
        f"SELECT g, {', '.join(totals)} FROM ({source}) s0 GROUP BY g) t) c"
        f" WHERE r.g = c.g AND ({' OR '.join(hits)})"
        f" GROUP BY {', '.join(kept)}) picked"
    )
