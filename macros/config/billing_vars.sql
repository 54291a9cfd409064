{#
    The run’s settings, each read and checked in one place. Models call these
    accessors instead of var(): a bad value stops compilation with a message
    that names the var, and no value reaches SQL without passing its check.
    validate_billing_config() (on-run-start) runs every check, plus the ones
    that need the database and the guards of billing_guards.sql, before any
    model is built.
#}

{% macro billing_config_error(var_name, message) -%}
    {{ exceptions.raise_compiler_error(
        "Invalid dbt var '" ~ var_name ~ "': " ~ message
    ) }}
{%- endmacro %}


{% macro billing_timezone() -%}
    {%- set zone = var('billing_timezone', 'Asia/Shanghai') -%}
    {%- if zone is not string
        or not modules.re.fullmatch(
            '(UTC|[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)+)', zone
        ) -%}
        {{ billing_config_error(
            'billing_timezone',
            "'" ~ zone ~ "' is not an IANA zone name such as Asia/Shanghai"
            ~ " or UTC (abbreviations like CST are ambiguous)"
        ) }}
    {%- endif -%}
    {{- return(zone) -}}
{%- endmacro %}


{% macro late_window_days() -%}
    {%- set days = var('late_window_days', 35) | string | trim -%}
    {%- if not modules.re.fullmatch('[0-9]{1,4}', days) -%}
        {{ billing_config_error(
            'late_window_days',
            "'" ~ days ~ "' is not a whole number of days from 0 to 9999"
        ) }}
    {%- endif -%}
    {{- return(days | int) -}}
{%- endmacro %}


{#-
    The last day to bill, as 'YYYY-MM-DD': the var billing_date, else the
    environment variable BILLING_DATE (what `billing run` sets: unlike a var,
    a new value each day does not force dbt to parse the whole project
    again), else yesterday in the zone. BILLING_DATE is read when nodes run,
    not while dbt parses them: dbt parses again every file whose parsing read
    an environment variable that has changed since, and no parsed node
    depends on the day.
-#}
{% macro billing_date() -%}
    {%- set raw = var('billing_date', '') -%}
    {%- set raw = '' if raw is none else raw | string | trim -%}
    {%- if raw == '' and execute -%}
        {%- set raw = env_var('BILLING_DATE', '') | trim -%}
    {%- endif -%}
    {%- if raw == '' -%}
        {%- set zone = billing_timezone() -%}
        {%- if zone not in modules.pytz.all_timezones -%}
            {{ billing_config_error(
                'billing_timezone', "'" ~ zone ~ "' is not a known time zone"
            ) }}
        {%- endif -%}
        {%- set now = modules.datetime.datetime.now(modules.pytz.timezone(zone)) -%}
        {{- return(
            (now.date() - modules.datetime.timedelta(days=1)).isoformat()
        ) -}}
    {%- endif -%}
    {{- return(checked_day('billing_date', raw)) -}}
{%- endmacro %}


{#- A day written YYYY-MM-DD that is a real calendar date, else an error naming the var. -#}
{% macro checked_day(var_name, raw) -%}
    {%- set parts = modules.re.fullmatch(
        '([0-9]{4})-([0-9]{2})-([0-9]{2})', raw
    ) -%}
    {%- if not parts -%}
        {{ billing_config_error(
            var_name, "'" ~ raw ~ "' is not a date in YYYY-MM-DD form"
        ) }}
    {%- endif -%}
    {%- set year = parts.group(1) | int -%}
    {%- set month = parts.group(2) | int -%}
    {%- set day = parts.group(3) | int -%}
    {%- if year < 1 or month < 1 or month > 12 or day < 1 -%}
        {{ billing_config_error(
            var_name, "'" ~ raw ~ "' is not a real calendar date"
        ) }}
    {%- endif -%}
    {%- set next_month = modules.datetime.date(
        year + (month // 12), month % 12 + 1, 1
    ) -%}
    {%- set month_days = (
        next_month - modules.datetime.timedelta(days=1)
    ).day -%}
    {%- if day > month_days -%}
        {{ billing_config_error(
            var_name, "'" ~ raw ~ "' is not a real calendar date"
        ) }}
    {%- endif -%}
    {{- return(raw) -}}
{%- endmacro %}


{#-
    The first day to reprice, as 'YYYY-MM-DD', or '' (no correction): the
    var reprice_from, which `billing run --reprice-from` sets. Issued lines
    of that day and later are priced again with the seeds as they are, and
    every difference becomes an adjustment line on the bills of this run (see
    ledger/issued_bill_lines); the price guards then leave those days to it.
-#}
{% macro reprice_from() -%}
    {%- set raw = var('reprice_from', '') -%}
    {%- set raw = '' if raw is none else raw | string | trim -%}
    {%- if raw == '' -%}
        {{- return('') -}}
    {%- endif -%}
    {{- return(checked_day('reprice_from', raw)) -}}
{%- endmacro %}

{#-
    usage_root without a trailing slash, quote-escaped for a SQL literal: the
    var, else the environment variable BILLING_USAGE_ROOT (what `billing run`
    sets, for the same reason as BILLING_DATE), else the sample data folder.
-#}
{% macro usage_root() -%}
    {%- set root = var('usage_root', '') -%}
    {%- if root is none or root == '' -%}
        {%- set root = env_var('BILLING_USAGE_ROOT', '') or 'sample_data/usage' -%}
    {%- endif -%}
    {%- if root is not string or root | trim == '' -%}
        {{ billing_config_error('usage_root', 'must be a folder path') }}
    {%- endif -%}
    {%- if modules.re.search('[\x00-\x1f*?\\[\\]{}]', root) -%}
        {{ billing_config_error(
            'usage_root',
            "'" ~ root ~ "' contains control or glob characters"
        ) }}
    {%- endif -%}
    {%- set root = root | trim -%}
    {%- if root | length > 1 and root.endswith('/') -%}
        {%- set root = root.rstrip('/') -%}
    {%- endif -%}
    {{- return(root | replace("'", "''")) -}}
{%- endmacro %}


{#- Who issues the bills: FOCUS ProviderName and InvoiceIssuerName. -#}
{% macro invoice_issuer_name() -%}
    {%- set name = var('invoice_issuer_name', 'Agent Platform') -%}
    {%- if name is not string or name | trim == ''
        or name | length > 200
        or modules.re.search('[\x00-\x1f]', name) -%}
        {{ billing_config_error(
            'invoice_issuer_name',
            'must be a name of 1 to 200 printable characters'
        ) }}
    {%- endif -%}
    {{- return(name | trim) -}}
{%- endmacro %}


{#- SQL literals of the checked values, for models. -#}
{% macro billing_date_literal() -%}
    date '{{ billing_date() }}'
{%- endmacro %}

{% macro billing_timezone_literal() -%}
    '{{ billing_timezone() }}'
{%- endmacro %}

{% macro invoice_issuer_name_literal() -%}
    '{{ invoice_issuer_name() | replace("'", "''") }}'
{%- endmacro %}


{#- Not for `dbt docs generate`: documenting the project needs no usage file. -#}
{% macro validate_billing_config() %}
    {%- if execute and flags.WHICH != 'generate' -%}
        {%- set zone = billing_timezone() -%}
        {%- set _ = late_window_days() -%}
        {%- set _ = billing_date() -%}
        {%- set _ = reprice_from() -%}
        {%- set _ = invoice_issuer_name() -%}
        {%- set root = usage_root() -%}
        {{ adapter.dispatch('validate_billing_config', 'agent_billing')(
            zone, root
        ) }}
        {#- what cannot be undone once written: only for commands that write -#}
        {%- if flags.WHICH in ('build', 'run', 'seed') -%}
            {#- Spark: a ledger commit stopped halfway, finished or undone -#}
            {{ recover_interrupted_ledger_commit() }}
            {{ check_billing_guards(zone, billing_date()) }}
        {%- endif -%}
    {%- endif -%}
    select 1
{% endmacro %}


{#- Whether the engine knows the zone, and whether usage_root holds any usage file. -#}
{% macro duckdb__validate_billing_config(zone, root) %}
    {%- set known = run_query(
        "select count(*) from pg_timezone_names() where name = '"
        ~ zone ~ "'"
    ).columns[0].values()[0] > 0 -%}
    {%- set found = run_query(usage_file_count_sql(root)).columns[0].values()[0] > 0 -%}
    {{ report_billing_config(zone, root, known, found) }}
{% endmacro %}


{% macro spark__validate_billing_config(zone, root) %}
    {{ report_billing_config(
        zone, root, zone in modules.pytz.all_timezones,
        usage_file_listing_rows() | selectattr('file_format') | list | length > 0
    ) }}
{% endmacro %}


{% macro default__validate_billing_config(zone, root) %}
{% endmacro %}


{% macro report_billing_config(zone, root, zone_is_known, has_usage_files) %}
    {%- if not zone_is_known -%}
        {{ billing_config_error(
            'billing_timezone', "'" ~ zone ~ "' is not a known time zone"
        ) }}
    {%- endif -%}
    {%- if not has_usage_files -%}
        {{ billing_config_error(
            'usage_root',
            "no usage file (*.jsonl, *.jsonl.gz or *.parquet) under '" ~ root
            ~ "/{llm,asr,tts}/': is the path right?"
        ) }}
    {%- endif -%}
{% endmacro %}
