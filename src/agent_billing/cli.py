"""The `billing` command: the daily job and the demo, around `dbt build`."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from agent_billing import report, sample_data
from agent_billing.dbt_build import BuildResult, run_dbt_build
from agent_billing.project import db_path, sample_usage_root

DEFAULT_TIMEZONE = "Asia/Shanghai"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="billing",
        description="Daily bills per tenant and currency from AI agents' usage files.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="bill every day up to DATE (default: yesterday)")
    run.add_argument("--date", help="last day to bill, YYYY-MM-DD (dbt var billing_date)")
    run.add_argument("--usage-root", help="root of the usage files (dbt var usage_root)")
    run.add_argument("--timezone", help="billing time zone (dbt var billing_timezone)")
    run.add_argument("--verbose", action="store_true", help="show dbt's full log")

    demo = commands.add_parser(
        "demo", help="generate sample usage if there is none, bill it, print the bills"
    )
    demo.add_argument("--verbose", action="store_true", help="show dbt's full log")

    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args.date, args.usage_root, args.timezone, args.verbose)
    return _demo(args.verbose)


def _run(date: str | None, usage_root: str | None, timezone: str | None, verbose: bool) -> int:
    dbt_vars: dict[str, object] = {}
    if usage_root is not None:
        root = Path(usage_root).expanduser().resolve()
        if not root.is_dir():
            print(f"billing: usage_root '{usage_root}' is not a folder", file=sys.stderr)
            return 2
        dbt_vars["usage_root"] = str(root)
    if date is not None:
        dbt_vars["billing_date"] = date
    if timezone is not None:
        dbt_vars["billing_timezone"] = timezone
    result = run_dbt_build(dbt_vars, quiet=not verbose)
    if not result.ok:
        _print_failure(result)
        return 1
    if date is None:
        zone = ZoneInfo(timezone or DEFAULT_TIMEZONE)
        date = (dt.datetime.now(zone).date() - dt.timedelta(days=1)).isoformat()
    report.print_run_summary(db_path(), date)
    return 0


def _demo(verbose: bool) -> int:
    root = sample_usage_root()
    if not sample_data.has_usage_files(root):
        yesterday = dt.datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).date() - dt.timedelta(days=1)
        print(f"Writing sample usage for the 7 days up to {yesterday} under {root}")
        sample_data.generate(root, yesterday)
    status = _run(None, str(root), None, verbose)
    if status == 0:
        report.print_latest_bills(db_path())
        print(
            '\nQuery the bills:\n  .venv/bin/python -c "import duckdb; '
            f"duckdb.connect('{db_path()}', read_only=True)"
            ".sql('from marts.daily_bills order by all').show()\""
        )
    return status


def _print_failure(result: BuildResult) -> None:
    print("billing: the build failed; nothing was published. Failing steps:", file=sys.stderr)
    for line in result.failures or ["dbt exited with an error before any step (see above)"]:
        print(f"  {line}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
