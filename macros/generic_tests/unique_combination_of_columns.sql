{#-
    Grain test: no two rows share the same values of these columns.

    with_ledger_state: the model is a ledger model, whose relation holds the
    rows of this run; they must not collide with each other, nor with the
    rows the ledger keeps (ledger_state) once they are committed. Only the
    kept rows that can collide are read: two rows with the same key share
    its leading columns (all but the last), so those whose leading columns
    a row of this run has. replaced_when: a kept row that matches this
    condition and has the key of a row of this run is replaced by it at
    the commit (delete+insert), so it is not a collision.

    Rows are first counted by a 64-bit hash of their key (narrow, fast at
    millions of rows); only the keys whose hash repeats are compared
    exactly, so a hash collision never fails the test by itself.
-#}
{% test unique_combination_of_columns(model, combination_of_columns, with_ledger_state=false, replaced_when=none) %}
    {%- set columns = combination_of_columns | join(', ') %}
    {%- set leading = combination_of_columns[:-1] %}
    with checked as {{ inline_cte() }} (
        select
            {{ columns }},
            {{ values_hash(combination_of_columns) }} as key_hash
        from {{ model }}
        {%- if with_ledger_state %}

        union all

        select
            {{ columns }},
            {{ values_hash(combination_of_columns) }} as key_hash
        from {{ ledger_state(model) }} as kept_rows
        where
            exists (
                select 1
                from (
                    select distinct
                        {{ leading | join(', ') or "'all' as all_rows" }}
                    from {{ model }}
                ) as this_run
                {%- for column in leading %}
                {{ 'where' if loop.first else 'and' }}
                    this_run.{{ column }} = kept_rows.{{ column }}
                {%- endfor %}
            )
            {%- if replaced_when %}
            and not (
                ({{ replaced_when }})
                and exists (
                    select 1
                    from {{ model }} as run_rows
                    where
                        {%- for column in combination_of_columns %}
                        run_rows.{{ column }} = kept_rows.{{ column }}
                        {{- ' and' if not loop.last }}
                        {%- endfor %}
                )
            )
            {%- endif %}
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
