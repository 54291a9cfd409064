{#
    One row per stream: how every raw record of the files under usage_root
    ended, across all runs. raw_events counts the records in the files
    (ledger.usage_files, counted when each file was read), the other columns
    count the records' statuses in the ledger (ledger.usage_records); a singular test fails the build unless raw_events = billed +
    duplicate + unpriced + rejected + pending.
#}
with streams as (
    select 'llm' as stream
    union all
    select 'asr' as stream
    union all
    select 'tts' as stream
),

files_present as (
    select * from {{ ref('int_usage_files_present') }}
),

usage_files as (
    select usage_files.*
    from {{ ref('usage_files') }} as usage_files
    inner join files_present
        on
            usage_files.stream = files_present.stream
            and usage_files.source_file = files_present.source_file
),

usage_records as (
    select * from {{ ref('usage_records') }}
),

raw_counts as (
    select
        stream,
        count(*) as source_files,
        sum(raw_records) as raw_events
    from usage_files
    group by stream
),

status_counts as (
    select
        usage_records.stream,
        count(*) filter (
            where usage_records.status = 'billed'
        ) as billed_events,
        count(*) filter (
            where usage_records.status = 'duplicate'
        ) as duplicate_events,
        count(*) filter (
            where usage_records.status = 'unpriced'
        ) as unpriced_events,
        count(*) filter (
            where usage_records.status = 'rejected'
        ) as rejected_events,
        count(*) filter (
            where usage_records.status = 'pending'
        ) as pending_events
    from usage_records
    inner join usage_files
        on
            usage_records.stream = usage_files.stream
            and usage_records.source_file = usage_files.source_file
    group by usage_records.stream
),

final as (
    select
        streams.stream,
        cast(coalesce(raw_counts.source_files, 0) as bigint) as source_files,
        cast(coalesce(raw_counts.raw_events, 0) as bigint) as raw_events,
        cast(coalesce(status_counts.billed_events, 0) as bigint)
            as billed_events,
        cast(coalesce(status_counts.duplicate_events, 0) as bigint)
            as duplicate_events,
        cast(coalesce(status_counts.unpriced_events, 0) as bigint)
            as unpriced_events,
        cast(coalesce(status_counts.rejected_events, 0) as bigint)
            as rejected_events,
        cast(coalesce(status_counts.pending_events, 0) as bigint)
            as pending_events
    from streams
    left join raw_counts on streams.stream = raw_counts.stream
    left join status_counts on streams.stream = status_counts.stream
)

select * from final
