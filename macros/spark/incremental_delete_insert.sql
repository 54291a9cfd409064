{#
    delete+insert on Spark: the rows of a table after it.

    dbt-spark 1.11 offers append, insert_overwrite, merge and microbatch;
    merge needs a table format with row-level updates (Delta, Iceberg,
    Hudi), which a plain local Spark does not have. The ledger replaces the
    rows of the keys it reclassifies (usage_records, usage_files), so its
    commit on Spark writes the kept rows (those not replaced) and the new
    rows to a new table (spark_delete_insert_rows_sql, see spark__ledger_commit).
    Like dbt-duckdb’s delete+insert, a row is replaced when its unique_key is
    in the new rows and it satisfies the incremental_predicates (which name
    the table DBT_INCREMENTAL_TARGET). For an incremental model with
    delete+insert (none in this project), spark_delete_insert_sql rewrites
    the table through a work table.

    The two dbt-spark macros below are dbt-spark’s own (1.11.0) with
    delete+insert added; the project’s macros take precedence over the
    adapter’s.
#}

{% macro spark_delete_insert_sql(source, target, unique_key, incremental_predicates) %}
    {%- set columns = adapter.get_columns_in_relation(target)
        | map(attribute='quoted') | list -%}
    {%- set work = target.incorporate(
        path={'identifier': target.identifier ~ '__dbt_rewrite'}
    ) -%}
    {%- set kept = [] -%}
    {%- for column in columns -%}
        {%- do kept.append('DBT_INCREMENTAL_TARGET.' ~ column) -%}
    {%- endfor -%}
    {% do run_query('drop table if exists ' ~ work) %}
    {% do run_query(
        'create table ' ~ work ~ ' using parquet as '
        ~ spark_delete_insert_rows_sql(
            source, target, unique_key, incremental_predicates, kept, columns
        )
    ) %}
    {% do run_query(
        'insert overwrite table ' ~ target
        ~ ' select ' ~ (columns | join(', ')) ~ ' from ' ~ work
    ) %}
    drop table {{ work }}
{% endmacro %}


{#-
    The rows of target after a delete+insert of source: the rows of target
    not replaced, then every row of source. target_columns and
    source_columns are the select lists (the same columns, in one order).
-#}
{% macro spark_delete_insert_rows_sql(
    source, target, unique_key, incremental_predicates, target_columns,
    source_columns
) %}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- if not keys -%}
        {{ exceptions.raise_compiler_error(
            "delete+insert on Spark needs a unique_key (model " ~ target ~ ")"
        ) }}
    {%- endif -%}
    {%- set predicates = incremental_predicates or [] -%}
    {%- set query -%}
        select
            {%- for column in target_columns %}
            {{ column }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ target }} as DBT_INCREMENTAL_TARGET
        left join (
            select distinct
                {%- for key in keys %}
                {{ key }},
                {%- endfor %}
                true as dbt_is_replaced
            from {{ source }}
        ) as DBT_INTERNAL_SOURCE
            on
            {%- for key in keys %}
                DBT_INTERNAL_SOURCE.{{ key }} = DBT_INCREMENTAL_TARGET.{{ key }}
                {{- ' and' if not loop.last }}
            {%- endfor %}
        where not (
            coalesce(DBT_INTERNAL_SOURCE.dbt_is_replaced, false)
            {%- for predicate in predicates %}
            and ({{ predicate }})
            {%- endfor %}
        )
        union all
        select {{ source_columns | join(', ') }}
        from {{ source }}
    {%- endset -%}
    {{ return(query) }}
{% endmacro %}


{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
  {% set invalid_strategy_msg -%}
    Invalid incremental strategy provided: {{ raw_strategy }}
    Expected one of: 'append', 'merge', 'insert_overwrite', 'microbatch', 'delete+insert'
  {%- endset %}

  {% set invalid_merge_msg -%}
    Invalid incremental strategy provided: {{ raw_strategy }}
    You can only choose this strategy when file_format is set to 'delta' or 'iceberg' or 'hudi'
  {%- endset %}

  {% set invalid_insert_overwrite_endpoint_msg -%}
    Invalid incremental strategy provided: {{ raw_strategy }}
    You cannot use this strategy when connecting via endpoint
    Use the 'append' or 'merge' strategy instead
  {%- endset %}

  {% if raw_strategy not in ['append', 'merge', 'insert_overwrite', 'microbatch', 'delete+insert'] %}
    {% do exceptions.raise_compiler_error(invalid_strategy_msg) %}
  {%-else %}
    {% if raw_strategy == 'merge' and file_format not in ['delta', 'iceberg', 'hudi'] %}
      {% do exceptions.raise_compiler_error(invalid_merge_msg) %}
    {% endif %}
    {% if raw_strategy in ['insert_overwrite', 'microbatch', 'delete+insert'] and target.endpoint %}
      {% do exceptions.raise_compiler_error(invalid_insert_overwrite_endpoint_msg) %}
    {% endif %}
  {% endif %}

  {% do return(raw_strategy) %}
{% endmacro %}


{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) %}
  {%- if strategy == 'delete+insert' -%}
    {{ spark_delete_insert_sql(source, target, unique_key, incremental_predicates) }}
  {%- elif strategy == 'append' -%}
    {{ get_insert_into_sql(source, target) }}
  {%- elif strategy == 'insert_overwrite' -%}
    {{ get_insert_overwrite_sql(source, target, existing) }}
  {%- elif strategy == 'microbatch' -%}
    {%- if not config.get('partition_by') -%}
      {{ exceptions.raise_compiler_error(
        "dbt-spark 'microbatch' incremental strategy requires a `partition_by` config."
      ) }}
    {%- endif -%}
    {{ get_insert_overwrite_sql(source, target, existing) }}
  {%- elif strategy == 'merge' -%}
    {{ get_merge_sql(target, source, unique_key, dest_columns=none, incremental_predicates=incremental_predicates) }}
  {%- else -%}
    {%- do exceptions.raise_compiler_error(
      "No known SQL for the incremental strategy provided: " ~ strategy
    ) -%}
  {%- endif -%}
{% endmacro %}
