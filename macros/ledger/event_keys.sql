{#
    The key a copy of an event is looked up by across runs. The ledger
    keeps a 64-bit hash of (stream, event_id) beside each record: the
    late-window lookup of billed copies reads that narrow column of every
    billed record of the window, instead of their event_id texts, and
    reads the rest of a record only where the key matches. The hash only
    narrows: every match is then joined on stream and event_id themselves,
    so a collision costs a row read, never a wrong status.
#}

{#- The key of an event id within its stream (null without an id). -#}
{% macro event_key(stream, event_id) -%}
    {{ return(adapter.dispatch('event_key', 'agent_billing')(stream, event_id)) }}
{%- endmacro %}

{% macro default__event_key(stream, event_id) -%}
    case when {{ event_id }} is not null then hash({{ stream }}, {{ event_id }}) end
{%- endmacro %}

{% macro spark__event_key(stream, event_id) -%}
    case when {{ event_id }} is not null then xxhash64({{ stream }}, {{ event_id }}) end
{%- endmacro %}


{#-
    The key of a ledger record, as the lookup reads it: the stored column
    on DuckDB; on Spark computed from the id, since Parquet tables written
    before the column existed cannot be filled in place.
-#}
{% macro ledger_event_key(alias) -%}
    {{ return(adapter.dispatch('ledger_event_key', 'agent_billing')(alias)) }}
{%- endmacro %}

{% macro default__ledger_event_key(alias) -%}
    {{ alias }}.event_key
{%- endmacro %}

{% macro spark__ledger_event_key(alias) -%}
    {{ event_key(alias ~ '.stream', alias ~ '.event_id') }}
{%- endmacro %}
