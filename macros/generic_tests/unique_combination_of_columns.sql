{#-
    Grain test: no two rows share the same values of these columns.

    only_this_run: check only the rows that can collide with a row written
    by this run, for append-only ledgers whose older rows were checked when
    they were written, so that the cost follows the new data. Two rows with
    the same key share its leading columns (all but the last), so the rows
    checked are those whose leading columns a row of this run has.
    run_id_column names the column holding the run id.

    Rows are first counted by a 64-bit hash of their key (narrow, fast at
    millions of rows); only the keys whose hash repeats are compared
    exactly, so a hash collision never fails the test by itself.
-#}
{% test unique_combination_of_columns(model, combination_of_columns, only_this_run=false, run_id_column='billing_run_id') %}
    {%- set columns = combination_of_columns | join(', ') %}
    {%- set leading = combination_of_columns[:-1] %}
    with checked as {{ inline_cte() }} (
        select
            {{ columns }},
            {{ values_hash(combination_of_columns) }} as key_hash
        from {{ model }} as checked_rows
        {%- if only_this_run %}
        where exists (
            select 1
            from (
                select distinct {{ leading | join(', ') or "'all' as all_rows" }}
                from {{ model }}
                where {{ run_id_column }} = '{{ billing_run_id() }}'
            ) as this_run
            {%- for column in leading %}
            {{ 'where' if loop.first else 'and' }} this_run.{{ column }} = checked_rows.{{ column }}
            {%- endfor %}
        )
        {%- endif %}
    ),

    repeated_hashes as (
        select key_hash
        from checked
        group by key_hash
        having count(*) > 1
    )

    select
        {{ columns }},
        count(*) as row_count
    from checked
    where key_hash in (select repeated_hashes.key_hash from repeated_hashes)
    group by {{ columns }}
    having count(*) > 1
{% endtest %}
