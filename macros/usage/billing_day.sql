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
