{#
    Guards against settings that would make issued bills wrong for good.
    Issued bills never change, so a run that closes a day still running,
    bills in another zone than the one of the warehouse, or prices closed days
    differently from their issued lines (list prices or a tenant contract
    price) is refused before anything is written. check_billing_guards() runs in on-run-start (after the vars
    are checked), for every dbt command that writes: `billing run` and a
    plain `dbt build` alike. Each refusal is one error naming the setting,
    the value and what to do instead.
#}

{% macro check_billing_guards(zone, billing_day) %}
    {{ guard_day_is_over(zone, billing_day) }}
    {{ guard_zone_of_the_warehouse(zone) }}
    {{ guard_reprice_from() }}
    {%- if price_seeds_checked_at_run_start() %}
    {{ guard_prices_of_closed_days() }}
    {{ guard_contract_prices_of_closed_days() }}
    {%- endif %}
{% endmacro %}


{#-
    Where the price seeds are checked against the closed days. DuckDB runs
    in the dbt process and reads the CSV files at run start. A Spark server
    (a cluster behind Thrift) cannot read files of the machine dbt runs on,
    so on Spark each price seed is checked by its own pre-hook
    (guard_price_seed), with the rows dbt has read from the file sent as SQL,
    before the seed table is touched: a refused seed is not loaded, and
    the failed node keeps the run from committing anything.
-#}
{% macro price_seeds_checked_at_run_start() %}
    {{ return(adapter.dispatch('price_seeds_checked_at_run_start', 'agent_billing')()) }}
{% endmacro %}

{% macro default__price_seeds_checked_at_run_start() %}
    {{ return(true) }}
{% endmacro %}

{% macro spark__price_seeds_checked_at_run_start() %}
    {{ return(false) }}
{% endmacro %}


{#- pre-hook of the price seeds: see price_seeds_checked_at_run_start. -#}
{% macro guard_price_seed() %}
    {%- if not execute or price_seeds_checked_at_run_start()
        or flags.WHICH not in ('build', 'run', 'seed')
        or model.name not in (
            'llm_token_prices', 'asr_prices', 'tts_prices', 'tenant_prices'
        ) -%}
        {{ return('') }}
    {%- endif -%}
    {%- set rows = price_seed_rows_sql(load_agate_table()) -%}
    {%- if model.name == 'tenant_prices' -%}
        {{ guard_contract_prices_of_closed_days(rows) }}
    {%- else -%}
        {{ guard_prices_of_closed_days(model.name, rows) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}


{#- The rows of a seed file as read by dbt (text), as a subquery with the columns of the file. -#}
{% macro price_seed_rows_sql(table) %}
    {%- set names = table.column_names | list -%}
    {%- set rows = [] -%}
    {%- for row in table.rows -%}
        {%- set values = [] -%}
        {%- for value in row -%}
            {%- if value is none -%}
                {%- do values.append('cast(null as string)') -%}
            {%- else -%}
                {%- do values.append("'" ~ value | string | replace('\\', '\\\\')
                    | replace("'", "\\'") ~ "'") -%}
            {%- endif -%}
        {%- endfor -%}
        {%- do rows.append('(' ~ values | join(', ') ~ ')') -%}
    {%- endfor -%}
    {%- if rows -%}
        {{ return('(select * from values ' ~ rows | join(', ') ~ ' as seed_file('
            ~ names | join(', ') ~ ')) as seed_file') }}
    {%- endif -%}
    {%- set nulls = [] -%}
    {%- for name in names -%}
        {%- do nulls.append('cast(null as string) as ' ~ name) -%}
    {%- endfor -%}
    {{ return('(select ' ~ nulls | join(', ') ~ ' where false) as seed_file') }}
{% endmacro %}


{#-
    A correction reprices closed days only: reprice_from must be a day an
    earlier run closed. A rerun of a closed billing_date with it issues
    nothing, like any rerun.
-#}
{% macro guard_reprice_from() %}
    {%- set first_day = reprice_from() -%}
    {%- if first_day == '' -%}
        {{ return('') }}
    {%- endif -%}
    {%- set closed = last_closed_day() -%}
    {%- if closed is none -%}
        {{ billing_config_error(
            'reprice_from',
            "'" ~ first_day ~ "': no day of this warehouse is closed yet, so"
            ~ " there is nothing to reprice. Run without it; nothing was written"
        ) }}
    {%- elif first_day > closed -%}
        {{ billing_config_error(
            'reprice_from',
            "'" ~ first_day ~ "' is after the last closed day (" ~ closed
            ~ "): only closed days are repriced, days not closed yet are billed"
            ~ " at the prices of the seeds anyway. Give a day up to " ~ closed
            ~ "; nothing was written"
        ) }}
    {%- endif -%}
{% endmacro %}


{#- A day still running cannot be closed: billing_date must be before today in the zone. -#}
{% macro guard_day_is_over(zone, billing_day) %}
    {%- set today = modules.datetime.datetime.now(
        modules.pytz.timezone(zone)
    ).date() -%}
    {%- if billing_day >= today.isoformat() -%}
        {{ billing_config_error(
            'billing_date',
            "'" ~ billing_day ~ "' is not before today in " ~ zone ~ " ("
            ~ today.isoformat() ~ "): a day still running cannot be closed."
            ~ " Bill up to " ~ (today - modules.datetime.timedelta(days=1)).isoformat()
            ~ " at the latest (no billing_date means yesterday); nothing was written"
        ) }}
    {%- endif -%}
{% endmacro %}


{#- The zone of the warehouse: the one its first run billed in (ledger.billing_runs). -#}
{% macro guard_zone_of_the_warehouse(zone) %}
    {%- set runs = adapter.get_relation(
        database=target.database, schema='ledger', identifier='billing_runs'
    ) -%}
    {%- if runs is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(runs)
        | map(attribute='name') | map('lower') | list -%}
    {%- if 'billing_timezone' not in columns -%}
        {{ return('') }}
    {%- endif -%}
    {%- set recorded = run_query(
        'select billing_timezone, cast(closed_through as string) from ' ~ runs
        ~ ' where billing_timezone is not null'
        ~ ' order by run_started_at, closed_through limit 1'
    ) -%}
    {%- if recorded.rows | length > 0 and recorded.rows[0][0] != zone -%}
        {{ billing_config_error(
            'billing_timezone',
            "'" ~ zone ~ "' is not the zone this warehouse bills in: "
            ~ recorded.rows[0][0] ~ ", recorded by its first run (days through "
            ~ recorded.rows[0][1] ~ "). Bill with billing_timezone "
            ~ recorded.rows[0][0] ~ ", or bill in " ~ zone
            ~ " into a new warehouse (BILLING_DB_PATH); nothing was written"
        ) }}
    {%- endif -%}
{% endmacro %}


{#
    Closed days keep their prices: for every billing item with issued lines
    on a closed day, the price seeds as they are now (the CSV files, which
    this build is about to load) must put exactly one row in force that day,
    with the price and currency the lines were issued with (or, for a line
    corrected since, of its latest adjustment). Adding a price where there
    was none is no change (no line was issued at it). A correction
    (reprice_from) may change the price of its days, never their currency
    or to no price.
#}
{% macro guard_prices_of_closed_days(only_seed=none, seed_rows=none) %}
    {%- set lines = adapter.get_relation(
        database=target.database, schema='marts', identifier='bill_line_items'
    ) -%}
    {%- if lines is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set seeds = [
        ('model', 'llm_token_prices', 'price_per_million_tokens'),
        ('asr', 'asr_prices', 'price_per_hour'),
        ('tts', 'tts_prices', 'price_per_thousand_characters'),
    ] -%}
    {%- set seed_selects = [] -%}
    {%- set seed_files = {} -%}
    {%- set fee_types = [] -%}
    {%- for fee_type, seed_name, price_column in seeds
        if only_seed is none or seed_name == only_seed -%}
        {%- set node = price_seed_node(seed_name) -%}
        {%- do fee_types.append(fee_type) -%}
        {%- do seed_files.update({fee_type: node.original_file_path}) -%}
        {%- do seed_selects.append(
            "select '" ~ fee_type ~ "' as fee_type, billing_item,"
            ~ " currency, " ~ price_column ~ " as price_text,"
            ~ " effective_from as from_text, effective_to as to_text from "
            ~ (seed_rows or read_price_seed_csv(node))
        ) -%}
    {%- endfor -%}
    {%- set differences = run_query(price_guard_sql(
        seed_selects | join('\nunion all\n'),
        'select * from (' ~ effective_issued_prices(lines) ~ ') as issued'
        ~ " where fee_type in ('" ~ fee_types | join("', '") ~ "')"
    )) -%}
    {%- if differences.rows | length > 0 -%}
        {%- set found = [] -%}
        {%- for row in differences.rows -%}
            {%- set seed_file = seed_files[row[0]] -%}
            {%- if row[5] > 1 -%}
                {%- set days = row[5] ~ ' closed days ' ~ row[6] ~ ' to ' ~ row[7] -%}
            {%- else -%}
                {%- set days = '1 closed day ' ~ row[6] -%}
            {%- endif -%}
            {%- set issued = row[2] ~ ' ' ~ row[3] -%}
            {%- if row[4] == 0 -%}
                {%- do found.append(
                    seed_file ~ ': no row prices ' ~ row[1] ~ ' on ' ~ days
                    ~ ' (issued at ' ~ issued ~ ')'
                ) -%}
            {%- elif row[4] > 1 -%}
                {%- do found.append(
                    seed_file ~ ': ' ~ row[4] ~ ' rows price ' ~ row[1] ~ ' on '
                    ~ days ~ ', among them (' ~ row[8] ~ ') (issued at ' ~ issued ~ ')'
                ) -%}
            {%- else -%}
                {%- do found.append(
                    seed_file ~ ': row (' ~ row[8] ~ ') prices ' ~ row[1] ~ ' on '
                    ~ days ~ ' differently from its issued lines (' ~ issued ~ ')'
                ) -%}
            {%- endif -%}
        {%- endfor -%}
        {{ exceptions.raise_compiler_error(
            "Invalid price seed: " ~ found | join('; ')
            ~ ". Closed days keep the prices their bills were issued with: end"
            ~ " the old row (effective_to) on a day not closed yet and add a new"
            ~ " row from that day; or, if the price of closed days was wrong, fix"
            ~ " the row and correct them with billing run --reprice-from DAY (var"
            ~ " reprice_from: adjustment lines on the next bills); nothing was written"
        ) }}
    {%- endif -%}
{% endmacro %}


{#
    Closed days keep their contract prices too: for every tenant and billing
    item with issued lines on a closed day, seeds/contracts/tenant_prices.csv
    as it is now must give the unit price the lines were billed at. At most
    one row may be in force for a tenant, item and day; with none, the line
    must have been billed at its list price; with one, at its unit_price, or
    its list price less its discount_percent. So a contract added, removed
    or changed under a closed day is refused, naming the row.
#}
{% macro guard_contract_prices_of_closed_days(seed_rows=none) %}
    {%- set lines = adapter.get_relation(
        database=target.database, schema='marts', identifier='bill_line_items'
    ) -%}
    {%- if lines is none -%}
        {{ return('') }}
    {%- endif -%}
    {%- set node = price_seed_node('tenant_prices') -%}
    {%- set differences = run_query(contract_guard_sql(
        seed_rows or read_price_seed_csv(node), effective_issued_prices(lines)
    )) -%}
    {%- if differences.rows | length > 0 -%}
        {%- set found = [] -%}
        {%- for row in differences.rows -%}
            {%- if row[6] > 1 -%}
                {%- set days = row[6] ~ ' closed days ' ~ row[7] ~ ' to ' ~ row[8] -%}
            {%- else -%}
                {%- set days = '1 closed day ' ~ row[7] -%}
            {%- endif -%}
            {%- set what = row[1] ~ ' for ' ~ row[0] ~ ' on ' ~ days -%}
            {%- set issued = 'billed at ' ~ row[2] ~ ' ' ~ row[3]
                ~ ', list ' ~ row[4] -%}
            {%- if row[5] > 1 -%}
                {%- do found.append(
                    node.original_file_path ~ ': ' ~ row[5] ~ ' rows price '
                    ~ what ~ ', among them (' ~ row[9] ~ ') (' ~ issued ~ ')'
                ) -%}
            {%- elif row[9] is none -%}
                {%- do found.append(
                    node.original_file_path ~ ': no row prices ' ~ what
                    ~ ' (' ~ issued ~ ')'
                ) -%}
            {%- else -%}
                {%- do found.append(
                    node.original_file_path ~ ': row (' ~ row[9] ~ ') prices '
                    ~ what ~ ' differently from its issued lines (' ~ issued ~ ')'
                ) -%}
            {%- endif -%}
        {%- endfor -%}
        {{ exceptions.raise_compiler_error(
            "Invalid contract price seed: " ~ found | join('; ')
            ~ ". Closed days keep the prices their bills were issued with: end"
            ~ " a contract row (effective_to) on a day not closed yet and start"
            ~ " a new one from that day; or, if the price of closed days was wrong,"
            ~ " fix the row and correct them with billing run --reprice-from DAY"
            ~ " (var reprice_from: adjustment lines on the next bills); nothing was"
            ~ " written"
        ) }}
    {%- endif -%}
{% endmacro %}


{#- The issued lines whose unit price the contract rows in force do not give, per group of days. -#}
{% macro contract_guard_sql(seed_rows_sql, issued_prices) %}
with seed_rows as (
    select * from {{ seed_rows_sql }}
),

contract_rows as (
    select
        trim(tenant_id) as tenant_id,
        trim(billing_item) as billing_item,
        try_cast(nullif(trim(unit_price), '') as decimal(18, 6)) as unit_price,
        try_cast(nullif(trim(discount_percent), '') as decimal(5, 2))
            as discount_percent,
        try_cast(nullif(trim(effective_from), '') as date) as effective_from,
        try_cast(nullif(trim(effective_to), '') as date) as effective_to,
        concat_ws(
            ', ',
            trim(tenant_id),
            trim(billing_item),
            coalesce(nullif(trim(currency), ''), 'no currency'),
            coalesce(nullif(trim(unit_price), ''), '-'),
            coalesce(nullif(trim(discount_percent), '') || ' %', '-'),
            'from ' || coalesce(nullif(trim(effective_from), ''), '?'),
            'to ' || coalesce(nullif(trim(effective_to), ''), 'open')
        ) as row_text
    from seed_rows
),

issued as (
    select distinct
        tenant_id,
        billing_item,
        usage_date,
        currency,
        list_unit_price,
        unit_price
    from ({{ issued_prices }}) as issued_prices
    {%- if reprice_from() != '' %}
    -- a correction reprices these days at the contract rows as they are
    where usage_date < date '{{ reprice_from() }}'
    {%- endif %}
),

in_force as (
    select
        issued.*,
        contract_rows.row_text,
        {{ contracted_unit_price(
            'issued.list_unit_price',
            'contract_rows.unit_price',
            'contract_rows.discount_percent'
        ) }} as expected_price,
        count(contract_rows.row_text) over (
            partition by
                issued.tenant_id, issued.billing_item, issued.usage_date,
                issued.unit_price
        ) as rows_in_force
    from issued
    left join contract_rows
        on
            issued.tenant_id = contract_rows.tenant_id
            and issued.billing_item = contract_rows.billing_item
            and contract_rows.effective_from <= issued.usage_date
            and (
                contract_rows.effective_to is null
                or issued.usage_date < contract_rows.effective_to
            )
),

differences as (
    select * from in_force
    where rows_in_force > 1 or expected_price <> unit_price
)

select
    tenant_id,
    billing_item,
    cast(unit_price as string) as issued_price,
    currency,
    cast(list_unit_price as string) as list_price,
    rows_in_force,
    count(distinct usage_date) as days,
    cast(min(usage_date) as string) as first_day,
    cast(max(usage_date) as string) as last_day,
    row_text
from differences
group by
    tenant_id, billing_item, unit_price, currency, list_unit_price,
    rows_in_force, row_text
order by tenant_id, billing_item, first_day
limit 10
{% endmacro %}


{% macro price_seed_node(seed_name) %}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'seed' and node.name == seed_name
            and node.package_name == project_name -%}
        {{ return(node) }}
    {%- endfor -%}
    {{ exceptions.raise_compiler_error('The price seed ' ~ seed_name ~ ' is missing') }}
{% endmacro %}


{#-
    The prices each issued usage line stands at now, one row per line: its
    list and billed unit price, or those of its latest adjustment line (a
    correction, see ledger/issued_bill_lines). Lines issued before contract
    prices existed were all billed at the list price; lines issued before
    adjustments existed are all usage lines (and marts.bill_line_items has
    list_unit_price for every line once it has line_type).
-#}
{% macro effective_issued_prices(lines) %}
    {%- set columns = adapter.get_columns_in_relation(lines)
        | map(attribute='name') | map('lower') | list -%}
    {%- set list_price = 'unit_price' -%}
    {%- if 'list_unit_price' in columns -%}
        {%- set list_price = 'coalesce(list_unit_price, unit_price)' -%}
    {%- endif -%}
    {%- if 'line_type' not in columns -%}
        {{ return(
            'select fee_type, tenant_id, billing_item, usage_date, currency, '
            ~ list_price ~ ' as list_unit_price, unit_price from ' ~ lines
        ) }}
    {%- endif -%}
    {%- set query -%}
        with adjustments as (
            select
                adjusted_bill_date,
                tenant_id,
                billing_item,
                usage_date,
                list_unit_price,
                unit_price,
                row_number() over (
                    partition by
                        adjusted_bill_date, tenant_id, billing_item, usage_date
                    order by bill_date desc
                ) as newest_first
            from {{ lines }}
            where line_type = 'adjustment'
        )

        select
            usage_lines.fee_type,
            usage_lines.tenant_id,
            usage_lines.billing_item,
            usage_lines.usage_date,
            usage_lines.currency,
            coalesce(
                adjustments.list_unit_price, usage_lines.list_unit_price
            ) as list_unit_price,
            coalesce(adjustments.unit_price, usage_lines.unit_price)
                as unit_price
        from {{ lines }} as usage_lines
        left join adjustments
            on
                usage_lines.bill_date = adjustments.adjusted_bill_date
                and usage_lines.tenant_id = adjustments.tenant_id
                and usage_lines.billing_item = adjustments.billing_item
                and usage_lines.usage_date = adjustments.usage_date
                and adjustments.newest_first = 1
        where usage_lines.line_type = 'usage'
    {%- endset -%}
    {{ return(query) }}
{% endmacro %}


{#- The issued prices that the seed rows in force do not give, one row per group of days. -#}
{% macro price_guard_sql(seed_rows_sql, issued_prices) %}
with seed_rows as (
    {{ seed_rows_sql }}
),

price_rows as (
    select
        fee_type,
        trim(billing_item) as billing_item,
        nullif(trim(currency), '') as currency,
        try_cast(nullif(trim(price_text), '') as decimal(18, 6)) as unit_price,
        try_cast(nullif(trim(from_text), '') as date) as effective_from,
        try_cast(nullif(trim(to_text), '') as date) as effective_to,
        concat_ws(
            ', ',
            trim(billing_item),
            coalesce(nullif(trim(currency), ''), 'no currency'),
            coalesce(nullif(trim(price_text), ''), 'no price'),
            'from ' || coalesce(nullif(trim(from_text), ''), '?'),
            'to ' || coalesce(nullif(trim(to_text), ''), 'open')
        ) as row_text
    from seed_rows
),

issued as (
    select distinct
        fee_type,
        billing_item,
        usage_date,
        currency,
        list_unit_price as unit_price
    from ({{ issued_prices }}) as issued_prices
),

in_force as (
    select
        issued.fee_type,
        issued.billing_item,
        issued.usage_date,
        issued.currency as issued_currency,
        issued.unit_price as issued_price,
        price_rows.currency,
        price_rows.unit_price,
        price_rows.row_text,
        count(price_rows.row_text) over (
            partition by
                issued.fee_type, issued.billing_item, issued.usage_date,
                issued.currency, issued.unit_price
        ) as rows_in_force
    from issued
    left join price_rows
        on
            issued.fee_type = price_rows.fee_type
            and issued.billing_item = price_rows.billing_item
            and price_rows.effective_from <= issued.usage_date
            and (
                price_rows.effective_to is null
                or issued.usage_date < price_rows.effective_to
            )
),

differences as (
    select * from in_force
    where
        rows_in_force <> 1
        or unit_price is null
        or currency is distinct from issued_currency
        or (
            unit_price <> issued_price
            {%- if reprice_from() != '' %}
            -- a correction reprices these days, to a price in the same currency
            and usage_date < date '{{ reprice_from() }}'
            {%- endif %}
        )
)

select
    fee_type,
    billing_item,
    cast(issued_price as string) as issued_price,
    issued_currency,
    rows_in_force,
    count(distinct usage_date) as days,
    cast(min(usage_date) as string) as first_day,
    cast(max(usage_date) as string) as last_day,
    row_text
from differences
group by fee_type, billing_item, issued_price, issued_currency, rows_in_force, row_text
order by billing_item, first_day
limit 10
{% endmacro %}


{#- The CSV file of a price seed as text columns, readable in a query (DuckDB). -#}
{% macro read_price_seed_csv(node) -%}
    {%- set path = node.root_path ~ '/' ~ node.original_file_path -%}
    read_csv('{{ path | replace("'", "''") }}', header = true, all_varchar = true)
{%- endmacro %}

