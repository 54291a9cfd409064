{#- The billing day of an instant: its calendar date in billing_timezone. -#}
{% macro billing_day(instant) -%}
    {{ return(adapter.dispatch('billing_day', 'agent_billing')(instant)) }}
{%- endmacro %}

{% macro default__billing_day(instant) -%}
    cast(({{ instant }} at time zone {{ billing_timezone_literal() }}) as date)
{%- endmacro %}


{#- Whether a price row is in force on a day: [effective_from, effective_to). -#}
{% macro price_in_force(prices, day) -%}
    {{ day }} >= {{ prices }}.effective_from
    and ({{ prices }}.effective_to is null or {{ day }} < {{ prices }}.effective_to)
{%- endmacro %}


{#- The instant a billing day starts: its midnight in billing_timezone. -#}
{% macro billing_day_start(day) -%}
    {{ return(adapter.dispatch('billing_day_start', 'agent_billing')(day)) }}
{%- endmacro %}

{% macro default__billing_day_start(day) -%}
    (cast({{ day }} as timestamp) at time zone {{ billing_timezone_literal() }})
{%- endmacro %}

{#- Spark’s timestamp is an instant shown in the session zone (UTC). -#}
{% macro spark__billing_day(instant) -%}
    cast(from_utc_timestamp({{ instant }}, {{ billing_timezone_literal() }}) as date)
{%- endmacro %}

{% macro spark__billing_day_start(day) -%}
    to_utc_timestamp(cast({{ day }} as timestamp), {{ billing_timezone_literal() }})
{%- endmacro %}


{#- The column type of an instant (a point in time, shown in UTC). -#}
{% macro type_instant() -%}
    {{ return(adapter.dispatch('type_instant', 'agent_billing')()) }}
{%- endmacro %}

{% macro default__type_instant() -%}
    timestamptz
{%- endmacro %}

{% macro spark__type_instant() -%}
    timestamp
{%- endmacro %}
