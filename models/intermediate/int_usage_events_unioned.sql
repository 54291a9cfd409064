{#
    One row per raw usage record of the three streams, in one shape: the
    item as reported (model or vendor), the quantity columns of every stream
    (null where they do not apply), and usage_date, the calendar day of
    occurred_at in billing_timezone.
#}
with llm_events as (
    select * from {{ ref('stg_usage__llm_events') }}
),

asr_events as (
    select * from {{ ref('stg_usage__asr_events') }}
),

tts_events as (
    select * from {{ ref('stg_usage__tts_events') }}
),

unioned as (
    select
        stream,
        source_format,
        source_file,
        source_version,
        source_line,
        event_id,
        tenant_id,
        agent_id,
        occurred_at,
        reported_model as reported_item,
        model_key as item_key,
        input_tokens,
        output_tokens,
        cast(null as decimal(38, 6)) as audio_seconds,
        cast(null as bigint) as characters,
        invalid_reason,
        raw_record
    from llm_events

    union all

    select
        stream,
        source_format,
        source_file,
        source_version,
        source_line,
        event_id,
        tenant_id,
        agent_id,
        occurred_at,
        reported_vendor as reported_item,
        vendor_key as item_key,
        cast(null as bigint) as input_tokens,
        cast(null as bigint) as output_tokens,
        audio_seconds,
        cast(null as bigint) as characters,
        invalid_reason,
        raw_record
    from asr_events

    union all

    select
        stream,
        source_format,
        source_file,
        source_version,
        source_line,
        event_id,
        tenant_id,
        agent_id,
        occurred_at,
        reported_vendor as reported_item,
        vendor_key as item_key,
        cast(null as bigint) as input_tokens,
        cast(null as bigint) as output_tokens,
        cast(null as decimal(38, 6)) as audio_seconds,
        characters,
        invalid_reason,
        raw_record
    from tts_events
),

final as (
    select
        stream,
        source_format,
        source_file,
        source_version,
        source_line,
        event_id,
        tenant_id,
        agent_id,
        occurred_at,
        {{ billing_day('occurred_at') }} as usage_date,
        reported_item,
        item_key,
        input_tokens,
        output_tokens,
        audio_seconds,
        characters,
        invalid_reason,
        raw_record
    from unioned
)

select * from final
