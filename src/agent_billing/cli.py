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
    run.add_argument(
        "--late-window-days", help="days late usage may still be billed (dbt var late_window_days)"
    )
    run.add_argument("--verbose", action="store_true", help="show dbt's full log")

    demo = commands.add_parser(
        "demo", help="generate sample usage if there is none, bill it, print the bills"
    )
    demo.add_argument("--verbose", action="store_true", help="show dbt's full log")

    args = parser.parse_args(argv)
    if args.command == "run":
        settings = {
            "billing_date": args.date,
            "billing_timezone": args.timezone,
            "late_window_days": args.late_window_days,
        }
        return _run(args.usage_root, settings, args.verbose)
    return _demo(args.verbose)


def _run(usage_root: str | None, settings: dict[str, str | None], verbose: bool) -> int:
    """dbt build with the given dbt vars (None: the project default); 0 when green."""
    dbt_vars: dict[str, object] = {k: v for k, v in settings.items() if v is not None}
    if usage_root is not None:
        root = Path(usage_root).expanduser().resolve()
        if not root.is_dir():
            print(f"billing: usage_root '{usage_root}' is not a folder", file=sys.stderr)
            return 2
        dbt_vars["usage_root"] = str(root)
    result = run_dbt_build(dbt_vars, quiet=not verbose)
    if not result.ok:
        _print_failure(result)
        return 1
    report.print_run_summary(db_path(), _billing_date(settings))
    return 0


def _billing_date(settings: dict[str, str | None]) -> str:
    """The day the run billed up to (the dbt default is yesterday in the billing zone)."""
    if settings.get("billing_date"):
        return str(settings["billing_date"])
    zone = ZoneInfo(settings.get("billing_timezone") or DEFAULT_TIMEZONE)
    return (dt.datetime.now(zone).date() - dt.timedelta(days=1)).isoformat()


def _demo(verbose: bool) -> int:
    root = sample_usage_root()
    if not sample_data.has_usage_files(root):
        yesterday = dt.datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).date() - dt.timedelta(days=1)
        print(f"Writing sample usage for the 7 days up to {yesterday} under {root}")
        sample_data.generate(root, yesterday)
    status = _run(str(root), {}, verbose)
    if status == 0:
        report.print_latest_bills(db_path())
        print(
            '\nQuery the bills:\n  .venv/bin/python -c "import duckdb; '
            f"duckdb.connect('{db_path()}', read_only=True)"
            ".sql('from marts.daily_bills order by all').show()\""
        )
    return status


def _print_failure(result: BuildResult) -> None:
    print("billing: the build failed. Failing steps:", file=sys.stderr)
    for line in result.failures or ["dbt exited with an error before any step (see above)"]:
        print(f"  {line}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
