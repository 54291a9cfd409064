{#
    materialized='ledger': write and audit, never publish.

    The model’s SQL selects the rows this run adds to the ledger, or
    replaces in it. They are built into the model’s own relation (schema
    audit), which the model’s tests and the models downstream read. The
    state kept across runs is the table of the same name in the schema
    ledger (see ledger_state): dbt creates it, empty, on a first build,
    adds the columns the model gains, and never writes its rows.
    commit_billing_run() writes them, at the end of a build in which every
    node passed: so a plain dbt build with any failing model or test, or a
    process killed at any point, leaves the ledger as it was.

    How the run’s rows are committed follows incremental_strategy:
      append          added (bills, lines: issued once)
      delete+insert   the rows of the state with the same unique_key and
                      matching the incremental_predicates are replaced
      insert_overwrite  the state becomes the run’s rows (a small table
                      rebuilt whole on each run)

    upgrade_from names a relation (schema.identifier) that held this state
    before the ledger had its own table: the state table starts as a copy
    of it, so that what was issued stays issued.
#}
{% materialization ledger, default %}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set state_relation = ledger_state() -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {{ drop_relation_if_exists(existing_relation) }}
    {% call statement('main') -%}
        {{ get_create_table_as_sql(False, target_relation, sql) }}
    {%- endcall %}

    {% do ledger_prepare_state(target_relation, state_relation) %}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do persist_docs(target_relation, model) %}
    {{ adapter.commit() }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{#-
    The state table exists and has every column of the run’s rows: created
    on a first build (empty, or as a copy of upgrade_from), then only ever
    given new columns. Columns are never dropped or retyped here.
-#}
{% macro ledger_prepare_state(run_relation, state_relation) %}
    {%- set existing = adapter.get_relation(
        database=state_relation.database,
        schema=state_relation.schema,
        identifier=state_relation.identifier,
    ) -%}
    {%- if existing is none -%}
        {%- if not adapter.check_schema_exists(
            state_relation.database, state_relation.schema
        ) -%}
            {% do adapter.create_schema(state_relation) %}
        {%- endif -%}
        {%- set columns = adapter.get_columns_in_relation(run_relation) -%}
        {%- set upgrade_from = config.get('upgrade_from') -%}
        {%- set previous = none -%}
        {%- if upgrade_from -%}
            {%- set parts = upgrade_from.split('.') -%}
            {%- set previous = adapter.get_relation(
                database=state_relation.database,
                schema=parts[0],
                identifier=parts[1],
            ) -%}
        {%- endif -%}
        {%- if previous is not none and previous.is_table -%}
            {%- set kept = adapter.get_columns_in_relation(previous)
                | map(attribute='name') | map('lower') | list -%}
            {%- set selected = [] -%}
            {%- for column in columns -%}
                {%- if column.name | lower in kept -%}
                    {%- do selected.append(adapter.quote(column.name)) -%}
                {%- else -%}
                    {%- do selected.append(
                        'cast(null as ' ~ column.data_type ~ ') as '
                        ~ adapter.quote(column.name)
                    ) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- set starting_rows =
                'select ' ~ selected | join(', ') ~ ' from ' ~ previous -%}
        {%- else -%}
            {%- set starting_rows =
                'select * from ' ~ run_relation ~ ' where 1 = 0' -%}
        {%- endif -%}
        {% call statement('create_ledger_state') -%}
            {{ get_create_table_as_sql(False, state_relation, starting_rows) }}
        {%- endcall %}
    {%- else -%}
        {%- set state_columns = adapter.get_columns_in_relation(existing)
            | map(attribute='name') | map('lower') | list -%}
        {%- set new_columns = [] -%}
        {%- for column in adapter.get_columns_in_relation(run_relation) -%}
            {%- if column.name | lower not in state_columns -%}
                {%- do new_columns.append(column) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if new_columns -%}
            {% do alter_relation_add_remove_columns(existing, new_columns, none) %}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
