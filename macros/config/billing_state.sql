{#
    What earlier runs left in the warehouse, read at compile time. The ledger
    models read their own past ({{ this }}); the day closure is read here so
    that a model can know it before billing_runs records this run.
#}

{#- The last billing day closed by an earlier run, as 'YYYY-MM-DD', or none. -#}
{% macro last_closed_day() -%}
    {%- if not execute -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set relation = adapter.get_relation(
        database=target.database, schema='ledger', identifier='billing_runs'
    ) -%}
    {%- if relation is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set value = run_query(
        'select cast(max(closed_through) as string) from ' ~ relation
    ).columns[0].values()[0] -%}
    {{- return(value) -}}
{%- endmacro %}


{% macro last_closed_day_literal() -%}
    {%- set day = last_closed_day() -%}
    {%- if day is none -%}
        cast(null as date)
    {%- else -%}
        date '{{ day }}'
    {%- endif -%}
{%- endmacro %}


{#- This dbt invocation: stamps the records it classified and the bills it issued. -#}
{% macro billing_run_id() -%}
    {{- return(invocation_id) -}}
{%- endmacro %}


{#- When this dbt invocation started (UTC): the issue time of its bills. -#}
{% macro run_started_at_literal() -%}
    cast('{{ run_started_at.isoformat() }}' as {{ type_instant() }})
{%- endmacro %}


{#-
    Pre-hook of usage_records: a ledger written before files had
    versions gets source_version 1 on every row (its records are the files’
    first versions), so that the key (stream, source_file, source_version,
    source_line) matches its rows. DuckDB fills the new column with the
    default; nothing happens once the column exists.
-#}
{% macro usage_records_add_source_version() -%}
    {%- if execute and target.type == 'duckdb' and ledger_has_state() -%}
        {%- set names = [] -%}
        {%- for column in adapter.get_columns_in_relation(ledger_state()) -%}
            {%- do names.append(column.name | lower) -%}
        {%- endfor -%}
        {%- if 'source_version' not in names -%}
            alter table {{ ledger_state() }}
            add column source_version integer default 1
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#-
    Pre-hook of usage_records: a DuckDB ledger written before records kept
    their event_key gets it computed for every row, in the transaction of
    the model (a process killed here leaves the column as it was). Nothing
    happens once the column exists.
-#}
{% macro usage_records_add_event_key() -%}
    {%- if execute and target.type == 'duckdb' and ledger_has_state() -%}
        {%- set names = [] -%}
        {%- for column in adapter.get_columns_in_relation(ledger_state()) -%}
            {%- do names.append(column.name | lower) -%}
        {%- endfor -%}
        {%- if 'event_key' not in names -%}
            alter table {{ ledger_state() }} add column event_key ubigint;
            update {{ ledger_state() }}
            set event_key = {{ event_key('stream', 'event_id') }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{#-
    The catalog version of this run (intermediate.int_catalog_version), as
    a literal read once when the model compiles, which dbt does right after
    building that model: a filter on the ledger with a literal is applied
    while its columns are scanned, where the same filter with a subquery is
    a join on every row. A relation that cannot be read here (a unit test
    fixture, a compile with nothing built yet) is read by the subquery.
-#}
{% macro catalog_version_value(relation, subquery) -%}
    {%- if execute and relation is not string
        and not (relation.identifier or '').startswith('__dbt__cte__')
        and load_relation(relation) is not none -%}
        {%- set value = run_query(
            'select max(catalog_version) from ' ~ relation
        ).columns[0].values()[0] -%}
        {%- if value is not none -%}
            {{- return("'" ~ value | replace("'", "''") ~ "'") -}}
        {%- endif -%}
    {%- endif -%}
    {{- return(subquery) -}}
{%- endmacro %}
