{#-
    Grain test: no two rows share the same values of these columns.
    only_this_run: check the rows written by this run against the whole
    table (for append-only ledgers, whose older rows were checked when they
    were written), so that the cost follows the new data. run_id_column
    names the column holding the run id.
-#}
{% test unique_combination_of_columns(model, combination_of_columns, only_this_run=false, run_id_column='billing_run_id') %}
    {%- set columns = combination_of_columns | join(', ') %}
    select
        {%- for column in combination_of_columns %}
        checked.{{ column }},
        {%- endfor %}
        count(*) as row_count
    from {{ model }} as checked
    {%- if only_this_run %}
    inner join (
        select distinct {{ columns }}
        from {{ model }}
        where {{ run_id_column }} = '{{ billing_run_id() }}'
    ) as this_run
        on
        {%- for column in combination_of_columns %}
            checked.{{ column }} = this_run.{{ column }}{{ ' and' if not loop.last }}
        {%- endfor %}
    {%- endif %}
    group by
        {%- for column in combination_of_columns %}
        checked.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    having count(*) > 1
{% endtest %}
