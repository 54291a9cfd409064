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
    occurred_at: ISO-8601 with an offset (Z, +08:00, +0800, +08), or none
    (then UTC: the session zone is pinned to UTC in the profile). Parquet
    timestamps arrive here rendered as text by the same rules.
-#}
{% macro parse_usage_timestamp(column) -%}
    case
        when regexp_full_match(
            {{ column }},
            '[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,9})?)?'
            || '([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?'
        )
            then try_cast({{ column }} as timestamptz)
    end
{%- endmacro %}


{#- Tokens and characters: a whole number >= 0 (at most 18 digits). -#}
{% macro is_whole_quantity(column) -%}
    coalesce(regexp_full_match({{ column }}, '[0-9]{1,18}([.]0+)?'), false)
{%- endmacro %}


{#-
    Audio seconds: a number >= 0 with at most 6 decimals and at most 15
    significant digits (so that a JSON number, which is read as a binary
    double, is still exact).
-#}
{% macro is_audio_seconds(column) -%}
    coalesce(
        regexp_full_match({{ column }}, '[0-9]{1,9}([.][0-9]{1,6}0*)?'),
        false
    )
{%- endmacro %}
