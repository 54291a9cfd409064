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
