"""Bad settings stop the run before anything is written, with a message naming the culprit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import (
    project_copy,
    run_billing,
    run_dbt,
    shows_broken_rule,
    table_exists,
    write_jsonl,
)

GOOD_EVENT = {
    "event_id": "e1",
    "tenant_id": "acme",
    "occurred_at": "2026-03-09T02:00:00Z",
    "model": "gpt-4o",
    "input_tokens": 1000,
    "output_tokens": 100,
}


@pytest.fixture(scope="module")
def usage_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("usage")
    write_jsonl(root / "llm" / "a.jsonl", [GOOD_EVENT])
    return root


@pytest.mark.parametrize(
    ("args", "culprit", "detail"),
    [
        (["--date", "2026-02-30"], "billing_date", "not a real calendar date"),
        (["--date", "yesterday"], "billing_date", "YYYY-MM-DD"),
        (["--date", "2026-3-9"], "billing_date", "YYYY-MM-DD"),
        (["--date", "2026-03-09", "--timezone", "CST"], "billing_timezone", "IANA"),
        (
            ["--date", "2026-03-09", "--timezone", "Asia/Shanghai'; drop table x; --"],
            "billing_timezone",
            "IANA",
        ),
        (
            ["--date", "2026-03-09", "--timezone", "Mars/Olympus_Mons"],
            "billing_timezone",
            "not a known time zone",
        ),
        # without --date the day is yesterday in that zone, which does not exist
        (["--timezone", "Mars/Olympus_Mons"], "billing_timezone", "not a known time zone"),
    ],
)
def test_a_bad_var_fails_before_any_model(tmp_path, usage_root, args, culprit, detail):
    db = tmp_path / "billing.duckdb"
    result = run_billing("run", "--usage-root", str(usage_root), *args, db=db)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"Invalid dbt var '{culprit}'" in output
    assert detail in output
    assert not table_exists(db, "marts", "daily_bills")
    assert not table_exists(db, "staging", "stg_usage__llm_events")


def test_a_bad_late_window_is_named(tmp_path, usage_root):
    db = tmp_path / "billing.duckdb"
    result = run_billing(
        "run",
        "--usage-root",
        str(usage_root),
        "--date",
        "2026-03-09",
        "--late-window-days",
        "-1",
        db=db,
    )
    assert result.returncode == 2
    assert "Invalid dbt var 'late_window_days'" in result.stdout + result.stderr
    assert not table_exists(db, "marts", "daily_bills")


def test_a_usage_root_without_any_usage_file_fails(tmp_path):
    empty = tmp_path / "usage"
    (empty / "llm").mkdir(parents=True)
    (empty / "llm" / "notes.txt").write_text("not usage\n")
    db = tmp_path / "billing.duckdb"
    result = run_billing("run", "--usage-root", str(empty), "--date", "2026-03-09", db=db)
    output = result.stdout + result.stderr
    assert result.returncode == 2
    assert "Invalid dbt var 'usage_root'" in output and str(empty) in output
    assert not table_exists(db, "marts", "daily_bills")


@pytest.mark.parametrize("name", ["usage[1]", "usage*", "us{a,b}age"])
def test_a_usage_root_with_glob_characters_is_refused(tmp_path, name):
    """A usage root the engines would read as a pattern: refused, named, nothing written."""
    root = tmp_path / name
    write_jsonl(root / "llm" / "a.jsonl", [GOOD_EVENT])
    db = tmp_path / "billing.duckdb"
    result = run_dbt(
        "build",
        "--vars",
        json.dumps({"usage_root": str(root), "billing_date": "2026-03-09"}),
        db=db,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Invalid dbt var 'usage_root'" in output, output
    assert "contains control or glob characters" in output and name in output, output
    assert not table_exists(db, "staging", "stg_usage__llm_events")


def test_a_usage_root_that_does_not_exist_is_refused(tmp_path):
    db = tmp_path / "billing.duckdb"
    missing = tmp_path / "no-such-folder"
    result = run_billing("run", "--usage-root", str(missing), db=db)
    assert result.returncode == 2
    assert f"usage_root '{missing}' is not a folder" in result.stderr
    assert not db.exists()


def _refused_with_seeds_of(project: Path, usage_root: Path, db: Path) -> str:
    """`billing run` of 2026-03-09 with PROJECT's seeds: it must fail with no bill built;
    its output."""
    result = run_billing(
        "run", "--usage-root", str(usage_root), "--date", "2026-03-09", db=db, project=project
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert not table_exists(db, "marts", "daily_bills")
    return output


def test_broken_price_seeds_stop_the_build_and_name_the_rows(tmp_path, usage_root):
    project = project_copy(tmp_path)
    pricing = project / "seeds" / "pricing"
    with (pricing / "llm_token_prices.csv").open("a") as seed:
        # overlaps the open-ended GPT-4o input price from 2020-01-01
        seed.write("gpt-4o,GPT-4o,ChatGPT,input,GPT-4o input,USD,2.00,2025-06-01,\n")
        # a token direction that is neither input nor output
        seed.write("gpt-4o,GPT-4o,ChatGPT,both,GPT-4o both,USD,2.00,2025-06-01,\n")
        # the same model as qwen-max (usage matches ids ignoring case and spaces): a second
        # Qwen-Max output price in force from 2026-01-01
        seed.write(" Qwen-Max ,Qwen-Max,Qwen,output,Qwen-Max output,CNY,9.00,2026-01-01,\n")
    asr = (pricing / "asr_prices.csv").read_text().replace("USD,1.44", "USD,-1.44")
    (pricing / "asr_prices.csv").write_text(asr)
    tts = (
        (pricing / "tts_prices.csv")
        .read_text()
        .replace("azure,Azure,Azure TTS,USD", "azure,Azure,Azure TTS,EUR")
    )
    (pricing / "tts_prices.csv").write_text(tts)
    with (pricing / "model_aliases.csv").open("a") as seed:
        seed.write("gpt-5-preview,gpt-5,exact\n")
        # an exact alias that names no model
        seed.write("my-model,,exact\n")

    db = tmp_path / "billing.duckdb"
    output = _refused_with_seeds_of(project, usage_root, db)
    assert "llm_token_prices_periods_do_not_overlap" in output
    assert "model=gpt-4o, token_direction=input" in output
    assert "model=qwen-max, token_direction=output, first_effective_from=2020-01-01" in output
    # each seed's row rules: the rows that break one, each with the first rule it breaks
    assert "asr_prices_row_rules" in output, output
    assert shows_broken_rule(output, "price_is_not_negative", "price_per_hour=-1.440000")
    assert "llm_token_prices_row_rules" in output, output
    assert shows_broken_rule(output, "token_direction_is_input_or_output", "token_direction=both")
    assert "model_aliases_row_rules" in output, output
    assert shows_broken_rule(output, "an_exact_row_names_a_model", "reported_model=my-model")
    assert "tts_prices_currency_is_known" in output and "from_field=EUR" in output
    assert "model_aliases_model_is_in_the_catalog" in output and "from_field=gpt-5" in output
    assert not table_exists(db, "marts", "bill_line_items")


def test_seed_rows_that_repeat_an_id_in_another_case_stop_the_build(tmp_path, usage_root):
    """The grain of the catalog's reference seeds is tested on their staging models, where ids
    are compared as usage is matched: a row that repeats one in another case or with spaces
    around it is refused and named, before any bill is built."""
    project = project_copy(tmp_path)
    pricing = project / "seeds" / "pricing"
    with (pricing / "currencies.csv").open("a") as seed:
        seed.write("usd,US dollar again,$,2\n")
    with (pricing / "catalog_publishers.csv").open("a") as seed:
        seed.write("llm, Qwen-Max ,Somebody else\n")
    with (pricing / "model_aliases.csv").open("a") as seed:
        seed.write("GPT-4o-2024-05-13,gpt-4o,exact\n")

    output = _refused_with_seeds_of(project, usage_root, tmp_path / "billing.duckdb")
    assert "unique_combination_of_columns_stg_pricing__currencies_currency" in output, output
    assert "currency=USD, row_count=2" in output
    assert (
        "unique_combination_of_columns_stg_pricing__catalog_publishers_stream__catalog_item"
        in output
    )
    assert "stream=llm, catalog_item=qwen-max, row_count=2" in output
    assert "unique_combination_of_columns_stg_pricing__model_aliases_reported_model" in output
    assert "reported_model=gpt-4o-2024-05-13, row_count=2" in output


def test_a_new_billing_date_makes_dbt_parse_no_file_again(tmp_path):
    """`billing run` passes the day as BILLING_DATE, read when the nodes run: dbt parses
    again every file whose parsing read an environment variable that changed, and a daily
    run would pay that every day."""
    target = tmp_path / "target"
    parsed = []
    for day in ("2026-03-01", "2026-03-02"):
        env = {"BILLING_DATE": day, "DBT_TARGET_PATH": str(target)}
        result = run_dbt("parse", db=tmp_path / "billing.duckdb", env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        perf = json.loads((target / "perf_info.json").read_text())
        assert perf["is_partial_parse_enabled"]
        parsed.append(perf["parsed_path_count"])
    assert parsed[0] > 0  # the first parse reads every file
    assert parsed[1] == 0


def test_a_blank_invoice_issuer_name_is_named(tmp_path, usage_root):
    """invoice_issuer_name (FOCUS ProviderName) is a dbt var only: plain `dbt build` checks it."""
    db = tmp_path / "billing.duckdb"
    vars_ = f'{{usage_root: "{usage_root}", billing_date: "2026-03-09", invoice_issuer_name: " "}}'
    result = run_dbt("build", "--vars", vars_, db=db)
    assert result.returncode != 0
    assert "Invalid dbt var 'invoice_issuer_name'" in result.stdout + result.stderr
    assert not table_exists(db, "marts", "focus_charges")
    assert not table_exists(db, "staging", "stg_usage__llm_events")
