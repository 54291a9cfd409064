{#
    Expressions that turn a raw usage field (text) into a checked value.
    A value that does not pass its check is never "fixed": the record is
    rejected with a reason (see the staging models).
#}

{#- An id: surrounding white space removed, blank means missing. -#}
{% macro usage_text_id(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}


{#-
    occurred_at: ISO-8601 with an offset (Z, +08:00, +0800, +08; at most
    18 hours, as ISO-8601 and java.time allow), or none (then UTC: the
    session zone is pinned to UTC in the profile). Parquet timestamps arrive
    here rendered as text by the same rules.
-#}
{% macro parse_usage_timestamp(column) -%}
    case
        when {{ text_matches(
            column,
            '[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,9})?)?'
            ~ '([Zz]|[+-]((0[0-9]|1[0-7])(:?[0-5][0-9])?|18(:?00)?))?'
        ) }}
            then {{ instant_from_text(column) }}
    end
{%- endmacro %}


{#- Tokens and characters: a whole number >= 0 (at most 18 digits). -#}
{% macro is_whole_quantity(column) -%}
    coalesce({{ text_matches(column, '[0-9]{1,18}([.]0+)?') }}, false)
{%- endmacro %}


{#-
    Audio seconds: a number >= 0 with at most 6 decimals and at most 15
    significant digits (so that a JSON number, which is read as a binary
    double, is still exact).
-#}
{% macro is_audio_seconds(column) -%}
    coalesce(
        {{ text_matches(column, '[0-9]{1,9}([.][0-9]{1,6}0*)?') }},
        false
    )
{%- endmacro %}


{#- Whether the whole text matches a regular expression (null for null). -#}
{% macro text_matches(column, pattern) -%}
    {{ return(adapter.dispatch('text_matches', 'agent_billing')(column, pattern)) }}
{%- endmacro %}

{% macro default__text_matches(column, pattern) -%}
    regexp_full_match({{ column }}, '{{ pattern }}')
{%- endmacro %}

{#- Java regular expressions: \z is the very end ($ allows a final newline). -#}
{% macro spark__text_matches(column, pattern) -%}
    ({{ column }} rlike '^(?:{{ pattern }})\\z')
{%- endmacro %}


{#- An ISO-8601 text (already checked by parse_usage_timestamp) as an instant. -#}
{% macro instant_from_text(column) -%}
    {{ return(adapter.dispatch('instant_from_text', 'agent_billing')(column)) }}
{%- endmacro %}

{% macro default__instant_from_text(column) -%}
    try_cast({{ column }} as timestamptz)
{%- endmacro %}

{#-
    Spark reads a text without offset in the session zone, pinned to UTC, as
    DuckDB does. Two forms DuckDB reads and Spark does not are brought to
    Spark’s: minutes without seconds before an offset (10:00+08:00) get
    ":00"; 24:00 (the end of a day, seconds and fraction zero) is 00:00 of
    the next day.
-#}
{% macro spark__instant_from_text(column) -%}
    {%- set with_seconds = "regexp_replace(" ~ column ~ ", "
        ~ "'^([0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2})([^:0-9]|$)', '$1:00$2')" -%}
    case
        when {{ column }} rlike '^.{10}[T ]24:00(:00([.]0+)?)?([^0-9:.]|$)'
            then try_cast(
                concat(
                    substr({{ with_seconds }}, 1, 11),
                    '00',
                    substr({{ with_seconds }}, 14)
                ) as timestamp
            ) + interval 1 day
        else try_cast({{ with_seconds }} as timestamp)
    end
{%- endmacro %}


{#-
    A field of a rejected Parquet row as text, for its JSON: its text, or
    the text of its typed value where that passed its check (the
    staging models’ <column>_text and <column>_value).
-#}
{% macro received_text(column) -%}
    coalesce({{ column }}_text, cast({{ column }}_value as string))
{%- endmacro %}


{#- A JSON object text of (key, text value) pairs, nulls kept as null. -#}
{% macro json_object_text(pairs) -%}
    {{ return(adapter.dispatch('json_object_text', 'agent_billing')(pairs)) }}
{%- endmacro %}

{% macro default__json_object_text(pairs) -%}
    cast(json_object(
        {%- for key, value in pairs %}
        '{{ key }}', {{ value }}{{ ',' if not loop.last }}
        {%- endfor %}
    ) as string)
{%- endmacro %}

{% macro spark__json_object_text(pairs) -%}
    to_json(
        named_struct(
            {%- for key, value in pairs %}
            '{{ key }}', {{ value }}{{ ',' if not loop.last }}
            {%- endfor %}
        ),
        map('ignoreNullFields', 'false')
    )
{%- endmacro %}
