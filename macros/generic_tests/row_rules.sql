{#-
    The rules every row of a table must meet, checked in one scan: rules
    maps each rule’s name to a condition on one row (a condition that is
    unknown, null, is broken). Each failing row is returned whole, after
    broken_rule: the name of the first rule it breaks.

    It stands for the one-column tests (not_null, accepted_values,
    expression_is_true) of one table: one node and one scan instead of one
    of each per rule. Nodes are most of the fixed cost of a daily build
    (docs/speed.md). On a ledger model the rows are those of this run
    (schema audit), checked before they are committed.
-#}
{% test row_rules(model, rules) %}
    select *
    from (
        select
            case
                {%- for name, condition in rules.items() %}
                when not coalesce({{ condition }}, false)
                    then '{{ name }}'
                {%- endfor %}
            end as broken_rule,
            *
        from {{ model }}
    ) as checked_rows
    where broken_rule is not null
{% endtest %}
