{# Python lists of text as SQL literals. #}

{% macro sql_string_list(values) -%}
    [{%- for value in values -%}
        '{{ value | replace("'", "''") }}'{{ ', ' if not loop.last }}
    {%- endfor -%}]
{%- endmacro %}


{#-
    Whether a text expression is one of a list of text values. On DuckDB
    as "= any([...])", which it applies while scanning a table, so that a
    filter by a few files reads the other columns of those rows only; an
    IN list of literals there only skips row groups, and every row of the
    others is read whole before it is dropped (the ledger of 31 days of
    make bench default scale: 0.1 s against 0.9 s).
-#}
{% macro text_is_one_of(expression, values) -%}
    {{ return(adapter.dispatch('text_is_one_of', 'agent_billing')(expression, values)) }}
{%- endmacro %}

{% macro default__text_is_one_of(expression, values) -%}
    {{ expression }} = any({{ sql_string_list(values) }})
{%- endmacro %}

{% macro spark__text_is_one_of(expression, values) -%}
    {{ expression }} in ({%- for value in values -%}
        '{{ value | replace("'", "''") }}'{{ ', ' if not loop.last }}
    {%- endfor -%})
{%- endmacro %}


{#
    A text expression as a JSON string value: quoted, with backslashes and
    double quotes escaped. chr() rather than backslashes in literals, which
    DuckDB and Spark read differently.
#}
{% macro json_string(expression) -%}
    concat(
        chr(34),
        replace(
            replace({{ expression }}, chr(92), concat(chr(92), chr(92))),
            chr(34),
            concat(chr(92), chr(34))
        ),
        chr(34)
    )
{%- endmacro %}
