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


def stats_sql(source: str, values: Sequence[str], d: str, groups: Sequence[str] = (),
              percentiles: Sequence[float] = PERCENTILES, filtered: bool = True) -> str:
    """Per group `g` of `source`: count, sum and percentiles (median and p90 unless
    told) of each value column, over all rows and, if `filtered`, over the rows with
    f = 1 (names with `_f`): first responses are the reply spans with f = 1, so one pass
    serves both. On SQLite each percentile sorts its own copy of the rows (PostgreSQL
    shares one sort among the percentiles of a column): ask only for those used.

    Output columns: g, n, nf, then per value v: v_sum, v_p50, v_p90, v_f_sum, v_f_p50,
    v_f_p90. Values must not be null. `groups`, when the values of g are known constants,
    reads each group on its own instead of sorting all rows by g first (neither an
    ordered-set aggregate on PostgreSQL nor any aggregate on SQLite can hash).

    Continuous percentiles (linear interpolation between the two nearest ranks): rank
    r = p * (n - 1) from 0, result = v[floor(r)] + (v[floor(r) + 1] - v[floor(r)]) *
    (r - floor(r)). PostgreSQL's percentile_cont and the `percentile` aggregate of
    SQLite's stats extension (app/db.py) both use that formula (in floating point: they
    may differ in the last bits, far below the microsecond figures are rounded to).
    """
    parts = ["COUNT(*) AS n", "SUM(f) AS nf"]
    subsets = (("", ""), ("_f", " FILTER (WHERE f = 1)"))[:2 if filtered else 1]
    for v in values:
        for suffix, where in subsets:
            parts.append(f"SUM({v}){where} AS {v}{suffix}_sum")
            parts += [f"{_percentile(v, p, d)}{where} AS {v}{suffix}_p{int(p * 100)}"
                      for p in percentiles]
    if groups:
        return " UNION ALL ".join(
            f"SELECT '{g}' AS g, {', '.join(parts)} FROM ({source}) src WHERE g = '{g}'"
            for g in groups)
    return f"SELECT g, {', '.join(parts)} FROM ({source}) src GROUP BY g"


def _percentile(v: str, p: float, d: str) -> str:
    if d == "postgresql":
        return f"percentile_cont({p}) WITHIN GROUP (ORDER BY {v})"
    return f"percentile({v}, {p * 100:g})"
