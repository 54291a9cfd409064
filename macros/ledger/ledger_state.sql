{#
    Where the ledger keeps its state. A ledger model (materialized='ledger')
    builds the rows its run adds or replaces into its own relation, in the
    schema audit; the rows kept across runs are in the table of the same
    name in the schema ledger, which only commit_billing_run() writes, after
    a build in which every node is green.
#}

{#- The schema of the tables kept across runs. -#}
{% macro ledger_state_schema() -%}
    {{- return('ledger') -}}
{%- endmacro %}


{#-
    The state table of a ledger model: of the model being built (no
    argument), or of the relation of a ref. In a unit test the model reads
    the given rows: this, or the ref, then names a fixture (a CTE) and is
    returned as it is.
-#}
{% macro ledger_state(relation=none) -%}
    {%- set relation = this if relation is none else relation -%}
    {%- if relation is string
        or (relation.identifier or '').startswith('__dbt__cte__') -%}
        {{- return(relation) -}}
    {%- endif -%}
    {{- return(relation.incorporate(
        path={'schema': ledger_state_schema()}, type='table'
    )) -}}
{%- endmacro %}


{#-
    Whether earlier runs left state for the model being built: false on the
    first build, true afterwards (unit tests say which with an override).
-#}
{% macro ledger_has_state() -%}
    {%- if not execute or this is string -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set state = ledger_state() -%}
    {{- return(adapter.get_relation(
        database=state.database, schema=state.schema,
        identifier=state.identifier
    ) is not none) -}}
{%- endmacro %}
