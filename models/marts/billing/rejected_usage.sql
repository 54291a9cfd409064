{#
    One row per raw record that is not billed because it is not a valid
    event, conflicts with an earlier delivery of its event_id, or is older
    than the late window. raw_record is the JSON line as received; for a
    Parquet row, its fields as JSON.
#}
with usage_records as (
    select * from {{ ledger_state(ref('usage_records')) }}
),

usage_files as (
    select * from {{ ledger_state(ref('usage_status_counts')) }}
),

reasons as (
    select * from {{ ref('stg_reference__usage_reasons') }}
),

final as (
    select
        stream,
        event_id,
        tenant_id,
        usage_date,
        reason,
        (
            select reasons.reason_description
            from reasons
            where reasons.reason = usage_records.reason
        ) as reason_description,
        case
            -- a file that is not read (source_line 0) has no text of its own
            when source_line = 0 then raw_record
            else
                coalesce(
                    raw_record,
                    -- a valid Parquet row rejected later (conflict, late
                    -- window)
                    {{ json_object_text([
                        ('event_id', 'event_id'),
                        ('tenant_id', 'tenant_id'),
                        ('agent_id', 'agent_id'),
                        ('occurred_at', instant_text('occurred_at')),
                        ('item', 'reported_item'),
                        ('input_tokens', 'input_tokens'),
                        ('output_tokens', 'output_tokens'),
                        ('audio_seconds', 'audio_seconds'),
                        ('characters', 'characters')
                    ]) }}
                )
        end as raw_record,
        source_format,
        source_file,
        source_version,
        source_line
    from usage_records
    where
        status = 'rejected'
        -- the files under usage_root at the last run
        and exists (
            select 1
            from usage_files
            where
                usage_files.stream = usage_records.stream
                and usage_files.source_file = usage_records.source_file
        )
)

select * from final
