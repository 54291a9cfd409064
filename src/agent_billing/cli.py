"""The `billing` command around `dbt build`: the daily job, publish, status, and what people
read (show, statement, tenants, export), and the demo."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agent_billing import alerts, daily_run, exports, report, sample_data, statements
from agent_billing.dbt_build import BuildResult, last_build_status
from agent_billing.project import db_path, project_dir, sample_usage_root

DEFAULT_TIMEZONE = "Asia/Shanghai"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="billing",
        description="Daily bills per tenant and currency from AI agents' usage files.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run", help="close every day up to DATE (default: yesterday), issue its bills, publish"
    )
    run.add_argument("--date", help="last day to bill, YYYY-MM-DD (dbt var billing_date)")
    run.add_argument("--usage-root", help="root of the usage files (dbt var usage_root)")
    run.add_argument("--timezone", help="billing time zone (dbt var billing_timezone)")
    run.add_argument(
        "--late-window-days", help="days late usage may still be billed (dbt var late_window_days)"
    )
    run.add_argument(
        "--reprice-from",
        metavar="DATE",
        help="a correction: price the issued lines of DATE (YYYY-MM-DD, a closed day) and "
        "later again with the seeds as they are now, and put each difference on this run's "
        "bills as an adjustment line (dbt var reprice_from)",
    )
    run.add_argument(
        "--wait", type=float, default=300, help="seconds to wait for another run (default 300)"
    )
    run.add_argument("--verbose", action="store_true", help="show dbt's full log")
    run.add_argument(
        "--new-warehouse",
        action="store_true",
        help="start a new warehouse on purpose although bills were published before "
        "(refused if the warehouse holds bills)",
    )

    publish = commands.add_parser(
        "publish", help="publish the marts of the last dbt build, if it was fully green"
    )
    publish.add_argument(
        "--wait", type=float, default=300, help="seconds to wait for a run (default 300)"
    )
    commands.add_parser("status", help="last closed day, pending usage, last run's outcome")

    export = commands.add_parser(
        "export",
        help="write one tenant's bills, lines, statements, FOCUS charges and agent costs "
        "(Parquet and CSV), nobody else's rows",
    )
    export.add_argument("--tenant", required=True, help="the tenant_id to export")
    export.add_argument("--out", required=True, help="folder to write the files into")

    show = commands.add_parser(
        "show", help="print a tenant's bill of a day, or its statement of a month"
    )
    show.add_argument("--tenant", required=True, help="the tenant_id")
    when = show.add_mutually_exclusive_group()
    when.add_argument("--date", help="the bill's day, YYYY-MM-DD (default: the tenant's latest)")
    when.add_argument("--month", help="the month's statement instead, YYYY-MM")
    show.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for a person (default), json for scripts (amounts as exact decimal strings)",
    )

    statement = commands.add_parser(
        "statement", help="write a tenant's monthly statement as an HTML or PDF document"
    )
    statement.add_argument("--tenant", required=True, help="the tenant_id")
    statement.add_argument("--month", required=True, help="the month, YYYY-MM")
    statement.add_argument(
        "--out", required=True, help="the file to write: .html or .pdf (by its extension)"
    )

    tenant_list = commands.add_parser(
        "tenants", help="list the tenants with a bill, with their last bill"
    )
    tenant_list.add_argument("--format", choices=("text", "json"), default="text")

    alert = commands.add_parser(
        "alerts",
        help="budgets at 80%% or more of their month; exit 1 when one is exceeded",
    )
    alert.add_argument("--month", help="the month, YYYY-MM (default: of the last closed day)")
    alert.add_argument("--format", choices=("text", "json"), default="text")

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
            "reprice_from": args.reprice_from,
        }
        return _run(args.usage_root, settings, args.verbose, args.wait, args.new_warehouse)
    if args.command == "publish":
        return _publish(args.wait)
    if args.command == "status":
        return _status()
    if args.command == "export":
        return _export(args.tenant, Path(args.out))
    if args.command == "show":
        return _show(args.tenant, args.date, args.month, args.format)
    if args.command == "statement":
        return _statement(args.tenant, args.month, Path(args.out))
    if args.command == "tenants":
        return _tenants(args.format)
    if args.command == "alerts":
        return _alerts(args.month, args.format)
    return _demo(args.verbose)


def _run(
    usage_root: str | None,
    settings: dict[str, str | None],
    verbose: bool,
    wait: float = 300,
    new_warehouse: bool = False,
) -> int:
    """Close days up to billing_date in one all-or-nothing build, then publish; 0 when green."""
    dbt_vars: dict[str, object] = {k: v for k, v in settings.items() if v is not None}
    if usage_root is not None:
        root = Path(usage_root).expanduser().resolve()
        if not root.is_dir():
            print(f"billing: usage_root '{usage_root}' is not a folder", file=sys.stderr)
            return 2
    else:
        root = sample_usage_root()  # the var's default, made absolute: dbt runs elsewhere
    dbt_vars["usage_root"] = str(root)
    database = db_path()
    outcome: dict[str, object] = {"billing_date": _billing_date(settings)}
    try:
        daily_run.check_paths(database)
        with _signals_stop_the_run(), daily_run.run_lock(database, wait):
            try:
                return _run_locked(database, dbt_vars, outcome, verbose, new_warehouse)
            except daily_run.Refused:
                raise
            except daily_run.RunError as error:
                _record(database, {**outcome, "outcome": "failed", "failures": [str(error)]})
                print(f"billing: {error}", file=sys.stderr)
                return 1
            except _Stopped as stop:
                _record(database, {**outcome, "outcome": "stopped", "failures": [str(stop)]})
                print(
                    f"billing: {stop}: what was not committed is discarded, and the warehouse "
                    "and the published file are each as before or fully updated; the next run "
                    "carries on",
                    file=sys.stderr,
                )
                return 128 + stop.signum
    except daily_run.Refused as error:
        # not recorded: the outcome file beside a missing warehouse is evidence of its bills
        print(f"billing: {error}", file=sys.stderr)
        return 2
    except daily_run.LockTimeout:
        print(
            f"billing: another run holds the lock on {database} (waited {wait:g} s); "
            "nothing was done",
            file=sys.stderr,
        )
        return 3


def _run_locked(
    database: Path,
    dbt_vars: dict[str, object],
    outcome: dict[str, object],
    verbose: bool,
    new_warehouse: bool,
) -> int:
    """The run under the lock: checks, the all-or-nothing build, the publish, the summary."""
    daily_run.check_readable(database)
    daily_run.check_state_is_present(database, new_warehouse)
    result = daily_run.build_atomically(database, dbt_vars, quiet=not verbose)
    if result.refusal:
        _record(database, {**outcome, "outcome": "refused", "refusal": result.refusal})
        print(f"billing: {result.refusal}", file=sys.stderr)
        return 2
    if not result.ok:
        causes = [result.explanation] if result.explanation else []
        _record(database, {**outcome, "outcome": "failed", "failures": causes + result.failures})
        _print_failure(result)
        return 1
    published = daily_run.publish(database)
    _record(
        database,
        {
            **outcome,
            "outcome": "succeeded",
            "billing_run_id": result.invocation_id,
            "warnings": result.warnings,
        },
    )
    report.print_run_summary(database, outcome["billing_date"], result.invocation_id)
    print(f"Published for analysts and BI tools: {published}")
    return 0


class _Stopped(Exception):
    """A signal asked the run to stop."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


@contextmanager
def _signals_stop_the_run() -> Iterator[None]:
    """SIGTERM, SIGINT and SIGHUP raise _Stopped: dbt is stopped and waited for, the lock
    released and the outcome recorded, instead of the process vanishing mid-way."""

    def stop(signum: int, _frame: object) -> None:
        raise _Stopped(signum)

    handled = [signal.SIGTERM, signal.SIGINT]
    if hasattr(signal, "SIGHUP"):
        handled.append(signal.SIGHUP)
    previous = {signum: signal.signal(signum, stop) for signum in handled}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _record(database: Path, outcome: dict) -> None:
    """The outcome for `billing status`; if even that cannot be written, say so."""
    problem = daily_run.record_outcome(database, outcome)
    if problem:
        print(f"billing: {problem}", file=sys.stderr)


def _billing_date(settings: dict[str, str | None]) -> str | None:
    """The day the run bills up to (the dbt default is yesterday in the billing zone).

    None for a zone that does not exist: dbt then stops the build before any model, naming
    billing_timezone, and the run reports that failure.
    """
    if settings.get("billing_date"):
        return str(settings["billing_date"])
    try:
        zone = ZoneInfo(settings.get("billing_timezone") or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return (dt.datetime.now(zone).date() - dt.timedelta(days=1)).isoformat()


def _publish(wait: float = 300) -> int:
    """Publish after a green `dbt build`, under the same lock as a run."""
    database = db_path()
    try:
        daily_run.check_paths(database)
        with daily_run.run_lock(database, wait):
            green, why = last_build_status(project_dir())
            if not green:
                print(f"billing: not publishing: {why}", file=sys.stderr)
                return 1
            if not database.exists():
                print(f"billing: not publishing: no warehouse file at {database}", file=sys.stderr)
                return 1
            published = daily_run.publish(database)
    except daily_run.RunError as error:
        print(f"billing: not publishing: {error}", file=sys.stderr)
        return 1
    except daily_run.LockTimeout:
        print(
            f"billing: not publishing: a run holds the lock on {database} (waited {wait:g} s)",
            file=sys.stderr,
        )
        return 3
    print(f"Published for analysts and BI tools: {published}")
    return 0


def _status() -> int:
    database = db_path()
    outcome = daily_run.last_outcome(database)
    if outcome is None and not database.exists():
        print(f"No run yet ({database} does not exist).")
        return 0
    report.print_status(database, outcome, daily_run.publish_path(database))
    return 0


def _export(tenant_id: str, out_dir: Path) -> int:
    try:
        result = exports.export_tenant(daily_run.publish_path(db_path()), tenant_id, out_dir)
    except exports.ExportError as error:
        print(f"billing: {error}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{table} {rows}" for table, rows in result.row_counts.items())
    due = ", ".join(f"{currency} {amount}" for currency, amount in result.amount_due.items())
    print(f"Exported tenant {tenant_id} to {result.directory}: {counts} rows; amount due {due}")
    return 0


def _show(tenant_id: str, bill_date: str | None, month: str | None, form: str) -> int:
    published = daily_run.publish_path(db_path())
    try:
        if month is not None:
            found = statements.load_statement(published, tenant_id, month)
            text = statements.to_json(found) if form == "json" else statements.to_text(found)
        elif form == "json":
            text = exports.bills_json(published, tenant_id, bill_date)
        else:
            text = exports.format_bills(published, tenant_id, bill_date)
    except exports.ExportError as error:
        print(f"billing: {error}", file=sys.stderr)
        return 2
    print(text)
    return 0


def _statement(tenant_id: str, month: str, out: Path) -> int:
    try:
        found = statements.load_statement(daily_run.publish_path(db_path()), tenant_id, month)
        written = statements.write_statement(found, out)
    except exports.ExportError as error:
        print(f"billing: {error}", file=sys.stderr)
        return 2
    dues = ", ".join(f"{s.currency} {statements.money(s.amount_due)}" for s in found.sections)
    state = "final" if found.is_final else "not final yet"
    print(f"Statement of {month} for tenant {tenant_id} ({state}): {dues} -> {written}")
    return 0


def _tenants(form: str) -> int:
    try:
        rows = exports.tenants(daily_run.publish_path(db_path()))
    except exports.ExportError as error:
        print(f"billing: {error}", file=sys.stderr)
        return 2
    if form == "json":
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    if not rows:
        print("No bills yet.")
    for row in rows:
        dues = ", ".join(f"{c} {a}" for c, a in row["last_bill_amount_due"].items())
        print(
            f"{row['tenant_id']}: last bill {row['last_bill_date']} ({dues}), "
            f"{row['bill_count']} bills"
        )
    return 0


def _alerts(month: str | None, form: str) -> int:
    try:
        found = alerts.budget_report(daily_run.publish_path(db_path()), month)
    except exports.ExportError as error:
        print(f"billing: {error}", file=sys.stderr)
        return 2
    if form == "json":
        print(json.dumps(alerts.to_json(found), indent=2, ensure_ascii=False))
    else:
        print(alerts.to_text(found))
    return 1 if found.exceeded else 0


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
            f"duckdb.connect('{daily_run.publish_path(db_path())}', read_only=True)"
            ".sql('from marts.daily_bills order by all').show()\""
        )
        print("A bill as a person reads it:\n  .venv/bin/billing show --tenant tenant-01")
    return status


def _print_failure(result: BuildResult) -> None:
    if result.explanation:
        print(f"billing: {result.explanation}", file=sys.stderr)
    print(
        "billing: the build failed; the warehouse and the published file are unchanged. "
        "Failing steps:",
        file=sys.stderr,
    )
    for line in result.failures or ["dbt exited with an error before any step (see above)"]:
        print(f"  {line}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
