{#
    One row per raw ASR usage record (a non-blank JSON line or a Parquet row)
    under usage_root/asr/. Fields are checked here; a record that is not a
    valid event keeps its fields as received and gets an invalid_reason.
#}
with source as (
    {{ read_usage_records('asr') }}
),

cleaned as (
    select
        -- lineage
        'asr' as stream,
        source_format,
        source_file,
        source_version,
        source_line,
        raw_record,
        record_error,
        -- ids
        {{ usage_text_id('event_id') }} as event_id,
        {{ usage_text_id('tenant_id') }} as tenant_id,
        {{ usage_text_id('agent_id') }} as agent_id,
        -- as received
        trim(occurred_at) as occurred_at_text,
        {{ usage_text_id('vendor') }} as reported_vendor,
        trim(audio_seconds) as audio_seconds_text,
        -- typed Parquet values, already checked (else null)
        occurred_at_value,
        audio_seconds_value
    from source
),

checked as (
    select
        *,
        coalesce(
            occurred_at_value,
            {{ parse_usage_timestamp('occurred_at_text') }}
        ) as occurred_at,
        (
            audio_seconds_value is not null
            or {{ is_audio_seconds('audio_seconds_text') }}
        ) as has_valid_quantities
    from cleaned
),

validated as (
    select
        *,
        case
            when record_error is not null then record_error
            when event_id is null then 'missing_event_id'
            when tenant_id is null then 'missing_tenant_id'
            when occurred_at is null then 'invalid_timestamp'
            when reported_vendor is null then 'missing_vendor'
            when not has_valid_quantities then 'invalid_quantity'
        end as invalid_reason
    from checked
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
        reported_vendor,
        lower(reported_vendor) as vendor_key,
        case
            when has_valid_quantities
                then coalesce(
                    audio_seconds_value,
                    cast(audio_seconds_text as decimal(38, 6))
                )
        end as audio_seconds,
        invalid_reason,
        coalesce(
            raw_record,
            -- a Parquet row has no text of its own: shown as JSON if rejected
            case
                when invalid_reason is not null and source_line > 0
                    then {{ json_object_text([
                ('event_id', 'event_id'),
                ('tenant_id', 'tenant_id'),
                ('agent_id', 'agent_id'),
                ('occurred_at', received_text('occurred_at')),
                ('vendor', 'reported_vendor'),
                ('audio_seconds', received_text('audio_seconds'))
            ]) }}
            end
        ) as raw_record
    from validated
)

select * from final
