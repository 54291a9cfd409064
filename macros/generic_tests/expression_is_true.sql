{#-
    Every row satisfies the expression; failing rows are returned whole.
    only_this_run: check only the rows written by this run.
-#}
{% test expression_is_true(model, expression, only_this_run=false) %}
    select *
    from {{ model }}
    where
        not coalesce({{ expression }}, false)
        {%- if only_this_run %}
        and billing_run_id = '{{ billing_run_id() }}'
        {%- endif %}
{% endtest %}
