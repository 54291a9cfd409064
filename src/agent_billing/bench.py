"""`make bench`: synthetic usage at scale, the pipeline against one hand-written query.

Generates deterministic Parquet usage (per day: LLM, ASR and TTS events for many
tenants, every model and vendor, timestamps with Z and +08:00 offsets, about 1%
redeliveries) and measures, on the same files:

- baseline: one hand-written DuckDB statement computing the daily bills straight
  from the files (dedup by event_id, prices inlined, billing-zone day, group by);
- catch-up: `billing run` for the last day on an empty warehouse (all days);
- daily: one more day lands, `billing run` for it (10 days of history);
- daily-30: the same daily step with 30 days of history behind it;

and checks that the pipeline's bills equal the baseline's, to the last decimal.
Each measurement is a fresh process: wall time, events per second and the peak
resident memory of the process tree (ru_maxrss of its children).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb

from agent_billing.project import project_dir

SCALES = {
    # per-day event counts; days of history for the catch-up and for the long daily run
    "default": {"llm": 2_000_000, "asr": 400_000, "tts": 400_000, "days": 10, "long": 30},
    "medium": {"llm": 200_000, "asr": 40_000, "tts": 40_000, "days": 10, "long": 30},
    "small": {"llm": 2_000, "asr": 400, "tts": 400, "days": 3, "long": 5},
}
TENANTS = 200
FIRST_DAY = dt.date(2026, 1, 1)
MODELS = [
    "qwen-max", "Qwen-Max-Latest", "doubao-pro-32k", "deepseek-chat", "gpt-4o",
    "gpt-4o-2024-08-06", "gpt-4o-mini", "gemini-1.5-pro-002", "gemini-2.0-flash",
    "claude-3-5-haiku-20241022", "claude-3-7-sonnet", "mistral-large", "amazon.nova-pro-v1:0",
]  # fmt: skip
ASR_VENDORS = ["aispeech", "Google"]
TTS_VENDORS = ["aispeech", "volcano-ark", "AZURE"]


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def _pick(values: list[str]) -> str:
    """SQL choosing one of values from the row's hash h."""
    return f"{_sql_list(values)}[cast(1 + (h >> 8) % {len(values)} as bigint)]"


def generate_day(root: Path, day: dt.date, counts: dict[str, int]) -> int:
    """One day of usage as Parquet under root/<stream>/date=<day>/; returns the row count."""
    day_number = (day - FIRST_DAY).days
    common = f"""
        i - (case when i % 100 = 99 then 1 else 0 end) as n,  -- 1% redeliveries
        hash(n, {day_number}) as h
    """
    payload = f"""
        '{{stream}}-{day_number}-' || n as event_id,
        'tenant-' || lpad(cast(h % {TENANTS} as varchar), 3, '0') as tenant_id,
        'agent-' || cast(h % 1000 as varchar) as agent_id,
        case when h % 2 = 0
            then strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ')
            else strftime(ts at time zone 'Asia/Shanghai', '%Y-%m-%dT%H:%M:%S.%f') || '+08:00'
        end as occurred_at
    """
    start = f"timestamptz '{day.isoformat()} 00:00:00+08:00'"
    selects = {
        "llm": f"""
            select {payload.format(stream="llm")},
                {_pick(MODELS)} as model,
                cast((h >> 16) % 60000 as bigint) as input_tokens,
                cast((h >> 32) % 8000 as bigint) as output_tokens
        """,
        "asr": f"""
            select {payload.format(stream="asr")},
                {_pick(ASR_VENDORS)} as vendor,
                cast((h >> 16) % 600000 as decimal(18, 0)) * cast(0.001 as decimal(4, 3))
                    as audio_seconds
        """,
        "tts": f"""
            select {payload.format(stream="tts")},
                {_pick(TTS_VENDORS)} as vendor,
                cast((h >> 16) % 4000 as bigint) as characters
        """,
    }
    total = 0
    with duckdb.connect() as connection:
        connection.execute("set TimeZone = 'UTC'")
        for stream, select in selects.items():
            folder = root / stream / f"date={day.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            connection.execute(
                f"""
                copy (
                    {select}
                    from (
                        select *, {start} + to_microseconds(cast(h % 86400000000 as bigint)) as ts
                        from (select {common} from range({counts[stream]}) as t (i))
                    )
                ) to '{folder}/part-0.parquet' (format parquet, row_group_size 122880)
                """
            )
            total += counts[stream]
    return total


BASELINE_SQL = """
with llm as (
    select event_id, any_value(tenant_id) as tenant_id, any_value(occurred_at) as occurred_at,
        any_value(lower(trim(model))) as model, any_value(input_tokens) as input_tokens,
        any_value(output_tokens) as output_tokens
    from read_parquet('{root}/llm/**/*.parquet') group by event_id
),
asr as (
    select event_id, any_value(tenant_id) as tenant_id, any_value(occurred_at) as occurred_at,
        any_value(lower(trim(vendor))) as vendor, any_value(audio_seconds) as audio_seconds
    from read_parquet('{root}/asr/**/*.parquet') group by event_id
),
tts as (
    select event_id, any_value(tenant_id) as tenant_id, any_value(occurred_at) as occurred_at,
        any_value(lower(trim(vendor))) as vendor, any_value(characters) as characters
    from read_parquet('{root}/tts/**/*.parquet') group by event_id
),
model_prices (model, item, currency, price_in, price_out) as (values
    ('qwen-max', 'qwen-max', 'CNY', 2.40, 9.60),
    ('qwen-max-latest', 'qwen-max', 'CNY', 2.40, 9.60),
    ('doubao-pro-32k', 'doubao-pro-32k', 'CNY', 0.80, 2.00),
    ('deepseek-chat', 'deepseek-chat', 'CNY', 2.00, 8.00),
    ('gpt-4o', 'gpt-4o', 'USD', 2.50, 10.00),
    ('gpt-4o-2024-08-06', 'gpt-4o', 'USD', 2.50, 10.00),
    ('gpt-4o-mini', 'gpt-4o-mini', 'USD', 0.15, 0.60),
    ('gemini-1.5-pro-002', 'gemini-1.5-pro', 'USD', 1.25, 2.50),
    ('gemini-2.0-flash', 'gemini-2.0-flash', 'USD', 0.10, 0.40),
    ('claude-3-5-haiku-20241022', 'claude-3-5-haiku', 'USD', 0.80, 4.00),
    ('claude-3-7-sonnet', 'claude-3-7-sonnet', 'USD', 3.00, 15.00)
),
lines as (
    select tenant_id, currency, item,
        cast((cast(occurred_at as timestamptz) at time zone 'Asia/Shanghai') as date) as day,
        sum(input_tokens) as q_in, sum(output_tokens) as q_out, any_value(price_in) as p_in,
        any_value(price_out) as p_out
    from llm join model_prices using (model)
    group by all
),
model_lines as (
    select day, tenant_id, currency,
        cast(q_in * cast(p_in as decimal(18, 6)) * 0.000001 as decimal(38, 12)) as amount
    from lines where q_in > 0
    union all
    select day, tenant_id, currency,
        cast(q_out * cast(p_out as decimal(18, 6)) * 0.000001 as decimal(38, 12))
    from lines where q_out > 0
),
asr_lines as (
    select cast((cast(occurred_at as timestamptz) at time zone 'Asia/Shanghai') as date) as day,
        tenant_id,
        case vendor when 'aispeech' then 'CNY' else 'USD' end as currency,
        sum(audio_seconds) as seconds,
        case vendor when 'aispeech' then 5000000 else 1440000 end as price_e6
    from asr group by all
),
tts_lines as (
    select cast((cast(occurred_at as timestamptz) at time zone 'Asia/Shanghai') as date) as day,
        tenant_id,
        case vendor when 'azure' then 'USD' else 'CNY' end as currency,
        sum(characters) as characters,
        case vendor when 'aispeech' then 0.20 when 'volcano-ark' then 0.30 else 0.015 end as price
    from tts group by all
),
all_lines as (
    select * from model_lines
    union all
    select day, tenant_id, currency,
        cast(((cast(seconds * 1000000 as hugeint) * price_e6 + 1800) // 3600) as decimal(38, 0))
            * 0.000000000001
    from asr_lines where seconds > 0
    union all
    select day, tenant_id, currency,
        cast(characters * cast(price as decimal(18, 6)) * 0.001 as decimal(38, 12))
    from tts_lines where characters > 0
)
select day as bill_date, tenant_id, currency,
    cast(sum(amount) as decimal(38, 12)) as total_amount,
    cast(sum(round(amount, 2)) as decimal(38, 2)) as amount_due
from all_lines
where day <= date '{last_day}'
group by all
order by all
"""


def _disk_bytes(folder: Path) -> int:
    """Bytes a folder takes on disk (allocated blocks), everything below it included."""
    total = 0
    for path, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(path, name)).st_blocks * 512
            except OSError:
                continue  # a temporary file removed meanwhile
    return total


def _measure(
    command: list[str], env: dict[str, str], watch: Path | None = None
) -> tuple[float, int, int]:
    """Wall seconds, peak resident memory (bytes) of command and its children, and the
    peak disk space (bytes) the folder watch took beyond what it took before."""
    probe = (
        "import resource, subprocess, sys; "
        "code = subprocess.run(sys.argv[1:]).returncode; "
        "print('PEAK', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
        "sys.exit(code)"
    )
    disk_before = _disk_bytes(watch) if watch else 0
    disk_peak = [disk_before]
    done = threading.Event()

    def poll() -> None:
        while not done.wait(0.2):
            disk_peak[0] = max(disk_peak[0], _disk_bytes(watch))

    poller = threading.Thread(target=poll, daemon=True) if watch else None
    # the bench's own writes are on disk before the clock starts: restoring the 30-day
    # warehouse (7 GB) leaves gigabytes of dirty pages, which the step would otherwise flush
    # (its first checkpoint waits for them), a cost no daily run has
    os.sync()
    if poller:
        poller.start()
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", probe, *command], env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    done.set()
    if poller:
        poller.join()
        disk_peak[0] = max(disk_peak[0], _disk_bytes(watch))
    if completed.returncode != 0:
        raise SystemExit(
            f"bench: {' '.join(command)} failed:\n{completed.stdout}{completed.stderr}"
        )
    peak_kib = int(completed.stdout.rsplit("PEAK", 1)[1].split()[0])
    return elapsed, peak_kib * 1024, disk_peak[0] - disk_before


def _baseline(root: Path, last_day: dt.date, memory_limit: str) -> tuple[float, int, list]:
    script = (
        "import duckdb, json, sys; c = duckdb.connect(); "
        f'c.execute("set memory_limit = \'{memory_limit}\'"); c.execute("set threads = 2"); '
        "c.execute(\"set TimeZone = 'UTC'\"); "
        "rows = c.execute(sys.argv[1]).fetchall(); "
        "json.dump([[str(v) for v in r] for r in rows], open(sys.argv[2], 'w'))"
    )
    out = root.parent / "baseline.json"
    sql = BASELINE_SQL.format(root=root, last_day=last_day.isoformat())
    elapsed, peak, _ = _measure([sys.executable, "-c", script, sql, str(out)], dict(os.environ))
    return elapsed, peak, json.loads(out.read_text())


def _pipeline_bills(db: Path) -> list:
    with duckdb.connect(str(db), read_only=True) as connection:
        rows = connection.execute(
            "select bill_date, tenant_id, currency, total_amount, amount_due "
            "from marts.daily_bills order by all"
        ).fetchall()
    return [[str(v) for v in r] for r in rows]


def _generate(root: Path, day_count: int, counts: dict) -> int:
    """The first day_count days of usage under root/staged; returns the events per day."""
    per_day = counts["llm"] + counts["asr"] + counts["tts"]
    print(f"bench: generating {day_count} days x {per_day:,} events under {root}")
    for offset in range(day_count):
        generate_day(root / "staged", FIRST_DAY + dt.timedelta(days=offset), counts)
    return per_day


def _land(root: Path, day_count: int) -> None:
    """Make the first day_count days of root/staged visible under root/live (hard links)."""
    for stream in ("llm", "asr", "tts"):
        for offset in range(day_count):
            name = f"date={(FIRST_DAY + dt.timedelta(days=offset)).isoformat()}"
            target = root / "live" / stream / name
            if not target.exists():
                target.mkdir(parents=True)
                for file in (root / "staged" / stream / name).iterdir():
                    os.link(file, target / file.name)


def _publish(db: Path) -> tuple[float, int, int]:
    """`billing publish` of db alone (the step a run ends with), measured."""
    billing = str(Path(sys.executable).parent / "billing")
    env = dict(os.environ, BILLING_DB_PATH=str(db), BILLING_PROJECT_DIR=str(project_dir()))
    return _measure([billing, "publish"], env, watch=db.parent)


def _billing_run(db: Path, last: dt.date, usage_root: Path) -> tuple[float, int, int]:
    """`billing run` for last into db, measured (wall seconds, peak memory bytes, peak
    extra disk bytes in the warehouse's folder, the published file and spills included)."""
    billing = str(Path(sys.executable).parent / "billing")
    env = dict(os.environ, BILLING_DB_PATH=str(db), BILLING_PROJECT_DIR=str(project_dir()))
    command = [billing, "run", "--date", last.isoformat(), "--usage-root", str(usage_root)]
    db.parent.mkdir(parents=True, exist_ok=True)
    return _measure(command, env, watch=db.parent)


# Points of the scale note: (per-day scale, days) -> events caught up in one run
CURVE = [("medium", 4), ("default", 4), ("default", 10), ("default", 20), ("default", 36)]


def curve(workdir: Path, report: Path | None) -> list[dict]:
    """One catch-up (and the baseline) at each point of CURVE: how time and memory grow."""
    memory_limit = os.environ.get("BILLING_MEMORY_LIMIT", "1536MB")
    points = []
    for scale, days in CURVE:
        counts = SCALES[scale]
        per_day = counts["llm"] + counts["asr"] + counts["tts"]
        root = workdir / f"curve-{scale}"
        for offset in range(days):
            day = FIRST_DAY + dt.timedelta(days=offset)
            if not (root / "staged" / "tts" / f"date={day.isoformat()}").exists():
                generate_day(root / "staged", day, counts)
        shutil.rmtree(root / "live", ignore_errors=True)
        _land(root, days)
        last = FIRST_DAY + dt.timedelta(days=days - 1)
        base_seconds, base_peak, expected = _baseline(root / "live", last, memory_limit)
        db = workdir / "curve-warehouse" / "billing.duckdb"
        shutil.rmtree(db.parent, ignore_errors=True)
        seconds, peak, _ = _billing_run(db, last, root / "live")
        if _pipeline_bills(db) != expected:
            raise SystemExit(f"bench: at {per_day * days:,} events the bills differ")
        shutil.rmtree(db.parent, ignore_errors=True)
        point = {
            "events": per_day * days,
            "days": days,
            "baseline": base_seconds,
            "baseline_peak": base_peak,
            "seconds": seconds,
            "peak_bytes": peak,
        }
        print(
            f"  {point['events']:>11,} events: catch-up {seconds:7.1f} s "
            f"{peak / 2**30:5.2f} GiB, baseline {base_seconds:6.1f} s "
            f"{base_peak / 2**30:5.2f} GiB"
        )
        points.append(point)
    if report is not None:
        lines = [
            f"### {dt.date.today().isoformat()}, scale curve (one catch-up per point)",
            "",
            f"Machine: {_machine()}.",
            "",
            "| events | days | catch-up | events/s | peak memory | baseline | baseline peak "
            "| catch-up / baseline |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for p in points:
            lines.append(
                f"| {p['events']:,} | {p['days']} | {p['seconds']:.1f} s | "
                f"{p['events'] / p['seconds']:,.0f} | {p['peak_bytes'] / 2**30:.2f} GiB | "
                f"{p['baseline']:.1f} s | {p['baseline_peak'] / 2**30:.2f} GiB | "
                f"{p['seconds'] / p['baseline']:.2f} |"
            )
        _append(report, lines + [""])
    return points


def run(scale: str, workdir: Path, repeats: int, report: Path | None) -> dict:
    counts = SCALES[scale]
    days, long_days = counts["days"], counts["long"]
    workdir.mkdir(parents=True, exist_ok=True)
    root = workdir / "usage"
    shutil.rmtree(root, ignore_errors=True)
    per_day = _generate(root, long_days + 1, counts)

    memory_limit = os.environ.get("BILLING_MEMORY_LIMIT", "1536MB")
    results: dict[str, list[tuple[float, int, int]]] = {}
    sizes: dict[str, int] = {}

    def land(day_count: int) -> None:
        _land(root, day_count)

    def billing_run(db: Path, last: dt.date) -> tuple[float, int, int]:
        return _billing_run(db, last, root / "live")

    last_catch_up = FIRST_DAY + dt.timedelta(days=days - 1)
    for attempt in range(repeats):
        shutil.rmtree(root / "live", ignore_errors=True)
        land(days)
        results.setdefault("baseline", []).append(
            (*_baseline(root / "live", last_catch_up, memory_limit)[:2], 0)
        )
        db = workdir / f"warehouse-{attempt}" / "billing.duckdb"
        shutil.rmtree(db.parent, ignore_errors=True)
        results.setdefault("catch-up", []).append(billing_run(db, last_catch_up))
        if attempt == 0:
            _, _, expected = _baseline(root / "live", last_catch_up, memory_limit)
            if _pipeline_bills(db) != expected:
                raise SystemExit("bench: the pipeline's bills differ from the baseline's")
        land(days + 1)
        results.setdefault("daily", []).append(
            billing_run(db, last_catch_up + dt.timedelta(days=1))
        )
        sizes["daily"] = db.stat().st_size
        results.setdefault("publish", []).append(_publish(db))
        shutil.rmtree(db.parent, ignore_errors=True)

    # 30 days of history: catch up to day 30 once, then measure the daily step for day 31
    shutil.rmtree(root / "live", ignore_errors=True)
    land(long_days)
    db = workdir / "warehouse-long" / "billing.duckdb"
    shutil.rmtree(db.parent, ignore_errors=True)
    last_long = FIRST_DAY + dt.timedelta(days=long_days - 1)
    # measured once: a point of the scale note (84M events at the default scale)
    results["catch-up-30"] = [billing_run(db, last_long)]
    land(long_days + 1)
    # Each repeat starts again from the 30-day warehouse, restored at the same path: a
    # daily job always builds the same file, and a new path would cost dbt a full
    # re-parse (its profile changes) that no real daily run pays.
    snapshot = workdir / "warehouse-long-30-days.duckdb"
    shutil.copy2(db, snapshot)
    for _ in range(repeats):
        shutil.copy2(snapshot, db)
        results.setdefault("daily-30", []).append(billing_run(db, last_long + dt.timedelta(days=1)))
    sizes["daily-30"] = db.stat().st_size
    results["publish-30"] = [_publish(db) for _ in range(repeats)]
    _, _, expected = _baseline(root / "live", last_long + dt.timedelta(days=1), memory_limit)
    if _pipeline_bills(db) != expected:
        raise SystemExit("bench: after 31 days, the pipeline's bills differ from the baseline's")
    shutil.rmtree(db.parent, ignore_errors=True)
    snapshot.unlink()

    events = {
        "baseline": per_day * days,
        "catch-up": per_day * days,
        "daily": per_day,
        "catch-up-30": per_day * long_days,
        "daily-30": per_day,
        "publish": per_day * (days + 1),
        "publish-30": per_day * (long_days + 1),
    }
    summary = {
        name: {
            "seconds": statistics.median(t for t, _, _ in runs),
            "peak_bytes": max(m for _, m, _ in runs),
            "disk_bytes": max(d for _, _, d in runs),
            "warehouse_bytes": sizes.get(name),
            "events": events[name],
        }
        for name, runs in results.items()
    }
    _print(summary, scale)
    if report is not None:
        _write_report(report, summary, scale, repeats)
    return summary


def _print(summary: dict, scale: str) -> None:
    print(f"bench ({scale}): median wall time, events per second, peak resident memory")
    for name, row in summary.items():
        rate = row["events"] / row["seconds"]
        print(
            f"  {name:<9} {row['seconds']:8.1f} s {rate:12,.0f} ev/s "
            f"{row['peak_bytes'] / 2**30:6.2f} GiB  ({row['events']:,} events)"
        )
    base, catch_up = summary["baseline"]["seconds"], summary["catch-up"]["seconds"]
    daily, daily_long = summary["daily"]["seconds"], summary["daily-30"]["seconds"]
    print(f"  catch-up / baseline = {catch_up / base:.2f} (target <= 1.5)")
    print(f"  daily / catch-up    = {daily / catch_up:.2f} (target <= 0.15)")
    print(f"  daily-30 / daily    = {daily_long / daily:.2f} (target <= 1.15)")
    print(f"  peak memory         = {_pipeline_peak(summary) / 2**30:.2f} GiB (target <= 2)")
    for name in ("daily", "daily-30"):
        row = summary[name]
        print(
            f"  {name:<9} peak extra disk {row['disk_bytes'] / 2**30:.2f} GiB, "
            f"warehouse after it {row['warehouse_bytes'] / 2**30:.2f} GiB"
        )


def _write_report(path: Path, summary: dict, scale: str, repeats: int) -> None:
    lines = [
        f"### {dt.date.today().isoformat()}, scale `{scale}`, median of {repeats}",
        "",
        f"Machine: {_machine()}.",
        "",
        "| step | events | wall time | events/s | peak memory | peak extra disk | warehouse |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, row in summary.items():
        size = row.get("warehouse_bytes")
        lines.append(
            f"| {name} | {row['events']:,} | {row['seconds']:.1f} s | "
            f"{row['events'] / row['seconds']:,.0f} | {row['peak_bytes'] / 2**30:.2f} GiB | "
            f"{row['disk_bytes'] / 2**30:.2f} GiB | "
            f"{'' if size is None else f'{size / 2**30:.2f} GiB'} |"
        )
    base, catch_up = summary["baseline"]["seconds"], summary["catch-up"]["seconds"]
    daily, daily_long = summary["daily"]["seconds"], summary["daily-30"]["seconds"]
    lines += [
        "",
        f"- catch-up / baseline: {catch_up / base:.2f} (target <= 1.5)",
        f"- daily / catch-up: {daily / catch_up:.2f} (target <= 0.15)",
        f"- daily with 30 days of history / daily with 10: {daily_long / daily:.2f} "
        "(target <= 1.15)",
        f"- peak memory of a pipeline step: {_pipeline_peak(summary) / 2**30:.2f} GiB "
        "(target <= 2)",
        "",
        "catch-up-30 (the catch-up of the 30 days that daily-30 then adds a day to) is "
        "measured once. publish and publish-30 are `billing publish` alone after daily and "
        "daily-30 (the last step of each run, included in its time; events: those the "
        "warehouse holds).",
        "",
    ]
    _append(path, lines)


def _pipeline_peak(summary: dict) -> int:
    return max(
        row["peak_bytes"]
        for name, row in summary.items()
        if name not in ("baseline", "publish", "publish-30")
    )


def _machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"Python {platform.python_version()}, DuckDB {duckdb.__version__}"
    )


def _append(path: Path, lines: list[str]) -> None:
    existing = path.read_text() if path.exists() else ""
    separator = "\n" if existing and not existing.endswith("\n\n") else ""
    with path.open("a") as handle:
        handle.write(separator + "\n".join(lines))


def _spark_busy_seconds(events: Path) -> tuple[float, int]:
    """Seconds in which Spark ran at least one SQL execution (the union of the intervals in
    its event logs), and how many executions there were."""
    intervals, started = [], {}
    for log in (path for path in events.rglob("*") if path.is_file()):
        for line in log.read_text().splitlines():
            event = json.loads(line)
            kind = event.get("Event", "")
            if kind.endswith("SparkListenerSQLExecutionStart"):
                started[event["executionId"]] = event["time"]
            elif kind.endswith("SparkListenerSQLExecutionEnd") and event["executionId"] in started:
                intervals.append((started.pop(event["executionId"]), event["time"]))
    busy, reach = 0, 0
    for start, end in sorted(intervals):
        if end > reach:
            busy += end - max(start, reach)
            reach = end
    return busy / 1000, len(intervals)


def cluster_run(scale: str, workdir: Path, report: Path | None) -> dict:
    """The catch-up and a daily run through the spark_thrift target, on a standalone
    cluster of one worker on this machine (agent_billing.spark_cluster): wall time, the
    time Spark was busy (its event log), the rest (dbt: start-up, compiling, the client)."""
    from agent_billing.spark_cluster import SparkCluster

    counts = SCALES[scale]
    days = counts["days"]
    root = workdir / "cluster-usage"
    shutil.rmtree(root, ignore_errors=True)
    per_day = _generate(root, days + 1, counts)
    _land(root, days)
    last = FIRST_DAY + dt.timedelta(days=days - 1)
    folder = workdir / "cluster"
    shutil.rmtree(folder, ignore_errors=True)
    dbt = str(Path(sys.executable).parent / "dbt")
    results = {}
    with SparkCluster(folder, event_log=True) as cluster:

        def build(day: dt.date) -> tuple[float, float, int]:
            env = dict(
                os.environ,
                SPARK_THRIFT_PORT=str(cluster.thrift_port),
                BILLING_DATE=day.isoformat(),
            )
            command = [dbt, "build", "--target", "spark_thrift", "--vars"]
            command += [json.dumps({"usage_root": str(root / "live")})]
            command += ["--exclude-resource-type", "unit_test"]
            elapsed, _, _ = _measure(command, env)
            # stopping the Thrift server closes its event log; it starts again for the next step
            cluster.stop_thrift_server()
            busy, statements = _spark_busy_seconds(folder / "events")
            shutil.rmtree(folder / "events")
            (folder / "events").mkdir()
            cluster.start_thrift_server()
            return elapsed, busy, statements

        results["catch-up"] = build(last)
        from pyhive import hive

        connection = hive.connect(host="127.0.0.1", port=cluster.thrift_port)
        cursor = connection.cursor()
        cursor.execute(
            "select bill_date, tenant_id, currency, total_amount, amount_due "
            "from marts.daily_bills order by 1, 2, 3, 4, 5"
        )
        bills = [[str(v) for v in row] for row in cursor.fetchall()]
        connection.close()
        _, _, expected = _baseline(root / "live", last, "1536MB")
        if bills != expected:
            raise SystemExit("bench: the cluster's bills differ from the baseline's")
        _land(root, days + 1)
        results["daily"] = build(last + dt.timedelta(days=1))
    lines = [
        f"### {dt.date.today().isoformat()}, scale `{scale}` through the Thrift server "
        "(`python -m agent_billing.bench --cluster`)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores; one standalone master, one "
        "worker (2 cores, executor 2 GiB) and the Thrift server on 127.0.0.1; the "
        "`spark_thrift` target (`poll_interval: 1`). Bills equal to the hand-written "
        "query's. Spark busy: the union of its SQL executions (event log); dbt: the rest.",
        "",
        "| step | events | wall | Spark busy | dbt and the client | SQL executions |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for step, events in (("catch-up", per_day * days), ("daily", per_day)):
        elapsed, busy, statements = results[step]
        lines.append(
            f"| {step} | {events:,} | {elapsed:.1f} s | {busy:.1f} s | "
            f"{elapsed - busy:.1f} s | {statements} |"
        )
    print("\n".join(lines))
    if report:
        _append(report, lines + [""])
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="billing-bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="default")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=project_dir() / "bench_data")
    parser.add_argument("--report", type=Path, help="append the results to this Markdown file")
    parser.add_argument(
        "--curve",
        action="store_true",
        help="instead: one catch-up per point from 1M to 100M events (the scale note)",
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="instead: the catch-up and a daily run through the spark_thrift target, on a "
        "standalone Spark cluster started on this machine",
    )
    args = parser.parse_args(argv)
    if args.cluster:
        cluster_run(args.scale, args.workdir, args.report)
    elif args.curve:
        curve(args.workdir, args.report)
    else:
        run(args.scale, args.workdir, args.repeats, args.report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
