{#
    One row per stream: how every raw record of the files under usage_root
    ended, across all runs. raw_events counts the records in the files
    (ledger.usage_files, counted when each file was read), the other columns
    count the records' statuses in the ledger (ledger.usage_records, counted
    per file by int_usage_status_counts); a singular test fails the build
    unless raw_events = billed + duplicate + unpriced + rejected + pending.
#}
with streams as (
    select 'llm' as stream
    union all
    select 'asr' as stream
    union all
    select 'tts' as stream
),

files_present as (
    select * from {{ ref('stg_usage__files') }}
),

usage_files as (
    select usage_files.*
    from {{ ref('usage_files') }} as usage_files
    inner join files_present
        on
            usage_files.stream = files_present.stream
            and usage_files.source_file = files_present.source_file
),

status_counts_by_file as (
    select * from {{ ref('int_usage_status_counts') }}
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
        status_counts_by_file.stream,
        sum(status_counts_by_file.billed_events) as billed_events,
        sum(status_counts_by_file.duplicate_events) as duplicate_events,
        sum(status_counts_by_file.unpriced_events) as unpriced_events,
        sum(status_counts_by_file.rejected_events) as rejected_events,
        sum(status_counts_by_file.pending_events) as pending_events
    from status_counts_by_file
    inner join usage_files
        on
            status_counts_by_file.stream = usage_files.stream
            and status_counts_by_file.source_file = usage_files.source_file
    group by status_counts_by_file.stream
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
