{#-
    Every row satisfies the expression; failing rows are returned whole.
    On a ledger model the rows are those of this run (schema audit), checked
    before they are committed.
-#}
{% test expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not coalesce({{ expression }}, false)
{% endtest %}
