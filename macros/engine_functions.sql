{#
    Small functions that DuckDB and Spark spell differently, each in one
    place: the models call these, never the engine’s own spelling.
#}

{#- An instant as ISO-8601 text in UTC, to the microsecond. -#}
{% macro instant_text(instant) -%}
    {{ return(adapter.dispatch('instant_text', 'agent_billing')(instant)) }}
{%- endmacro %}

{% macro default__instant_text(instant) -%}
    strftime({{ instant }} at time zone 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ')
{%- endmacro %}

{% macro spark__instant_text(instant) -%}
    date_format({{ instant }}, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
{%- endmacro %}


{#- Microseconds since 1970-01-01T00:00:00Z. -#}
{% macro epoch_microseconds(instant) -%}
    {{ return(adapter.dispatch('epoch_microseconds', 'agent_billing')(instant)) }}
{%- endmacro %}

{% macro default__epoch_microseconds(instant) -%}
    epoch_us({{ instant }})
{%- endmacro %}

{% macro spark__epoch_microseconds(instant) -%}
    unix_micros({{ instant }})
{%- endmacro %}


{#- An aggregate: the texts of a group, sorted, joined by a separator. -#}
{% macro sorted_text_agg(text, separator) -%}
    {{ return(adapter.dispatch('sorted_text_agg', 'agent_billing')(text, separator)) }}
{%- endmacro %}

{% macro default__sorted_text_agg(text, separator) -%}
    array_to_string(list_sort(array_agg({{ text }})), '{{ separator }}')
{%- endmacro %}

{% macro spark__sorted_text_agg(text, separator) -%}
    array_join(array_sort(collect_list({{ text }})), '{{ separator }}')
{%- endmacro %}


{#-
    The type for exact integer arithmetic on amounts in units of 1e-12
    (products of two scale-6 decimals): 38 digits are enough on both.
-#}
{% macro exact_integer_type() -%}
    {{ return(adapter.dispatch('exact_integer_type', 'agent_billing')()) }}
{%- endmacro %}

{% macro default__exact_integer_type() -%}
    hugeint
{%- endmacro %}

{% macro spark__exact_integer_type() -%}
    decimal(38, 0)
{%- endmacro %}


{#-
    A 64-bit hash of one or more values, used only to narrow down which
    rows may share a key before an exact comparison (a collision costs
    time, never a wrong result).
-#}
{% macro values_hash(expressions) -%}
    {{ return(adapter.dispatch('values_hash', 'agent_billing')(expressions)) }}
{%- endmacro %}

{% macro default__values_hash(expressions) -%}
    hash({{ expressions | join(', ') }})
{%- endmacro %}

{% macro spark__values_hash(expressions) -%}
    xxhash64({{ expressions | join(', ') }})
{%- endmacro %}


{#-
    Written between "name as" and the body of a CTE that is used several
    times: DuckDB then reads the columns each use needs from the tables
    below instead of materializing every row with every column once
    (which spills to disk at millions of records). Spark plans CTEs
    inline by default.
-#}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte', 'agent_billing')()) }}
{%- endmacro %}

{% macro default__inline_cte() -%}
    not materialized
{%- endmacro %}

{% macro spark__inline_cte() -%}
{%- endmacro %}


{#-
    Written between "name as" and the body of a small CTE that a later
    filter reads (a few keys): DuckDB computes it once, before the scan it
    narrows, instead of planning it into that scan. Spark plans CTEs its
    own way.
-#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte', 'agent_billing')()) }}
{%- endmacro %}

{% macro default__materialized_cte() -%}
    materialized
{%- endmacro %}

{% macro spark__materialized_cte() -%}
{%- endmacro %}


{#-
    The quotient of two BIGINT values >= 0 (the denominator > 0), rounded
    half up to an integer: shares and projections of amounts counted in
    cents, without a division DuckDB would turn into a DOUBLE.
-#}
{% macro rounded_quotient(numerator, denominator) -%}
    {{ return(adapter.dispatch('rounded_quotient', 'agent_billing')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__rounded_quotient(numerator, denominator) -%}
    ((2 * ({{ numerator }}) + ({{ denominator }})) // (2 * ({{ denominator }})))
{%- endmacro %}

{% macro spark__rounded_quotient(numerator, denominator) -%}
    ((2 * ({{ numerator }}) + ({{ denominator }})) div (2 * ({{ denominator }})))
{%- endmacro %}
