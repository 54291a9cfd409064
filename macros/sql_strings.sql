{# Python lists of text as SQL literals. #}

{% macro sql_string_list(values) -%}
    [{%- for value in values -%}
        '{{ value | replace("'", "''") }}'{{ ', ' if not loop.last }}
    {%- endfor -%}]
{%- endmacro %}


{% macro sql_string_tuple(values) -%}
    ({%- for value in values -%}
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
