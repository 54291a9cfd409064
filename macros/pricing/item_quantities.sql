{#
    Billed events summed per grain (plus stream and catalog item), then one
    row per billing item: a language-model event counts towards its model’s
    input and output items, an ASR event towards its vendor’s audio item, a
    TTS event towards its characters item. event_count counts the events
    with a quantity above zero for that item.

    Shared by bill_line_items (grain: bill, tenant, usage day) and
    agent_daily_costs (the same, per agent), so both price the same
    quantities. Returns a query: use it as the body of a CTE.
#}
{% macro item_quantities(events, grain) -%}
    {%- set grain_columns = grain | join(',\n        ') %}
    with summed as (
        select
            {{ grain_columns }},
            stream,
            catalog_item,
            sum(input_tokens) as input_tokens,
            count(*) filter (where input_tokens > 0) as input_token_events,
            sum(output_tokens) as output_tokens,
            count(*) filter (where output_tokens > 0) as output_token_events,
            sum(audio_seconds) as audio_seconds,
            count(*) filter (where audio_seconds > 0) as audio_events,
            sum(characters) as characters,
            count(*) filter (where characters > 0) as character_events
        from {{ events }}
        group by
            {{ grain_columns }},
            stream,
            catalog_item
    )

    {%- set components = [
        ('llm', 'input', 'input_tokens', 'input_token_events'),
        ('llm', 'output', 'output_tokens', 'output_token_events'),
        ('asr', 'audio', 'audio_seconds', 'audio_events'),
        ('tts', 'characters', 'characters', 'character_events'),
    ] %}
    {%- for stream, component, quantity, events_column in components %}

    select
        {{ grain_columns }},
        stream,
        catalog_item,
        '{{ component }}' as price_component,
        cast({{ quantity }} as decimal(38, 6)) as quantity,
        {{ events_column }} as event_count
    from summed
    where stream = '{{ stream }}'
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}
{%- endmacro %}
