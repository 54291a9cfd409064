{#
    One row per stream: how every raw record of the files under usage_root
    at the last run ended, across all runs. raw_events counts the records in
    the files (ledger.usage_files, counted when each file was read), the
    other columns count their statuses in the ledger (ledger.usage_records),
    both per file in ledger.usage_status_counts. A singular test fails the
    build unless raw_events = billed + duplicate + unpriced + rejected +
    pending.
#}
with streams as (
    select 'llm' as stream
    union all
    select 'asr' as stream
    union all
    select 'tts' as stream
),

status_counts_by_file as (
    select * from {{ ledger_state(ref('usage_status_counts')) }}
),

raw_counts as (
    select
        stream,
        count(*) as source_files,
        sum(raw_records) as raw_events
    from status_counts_by_file
    group by stream
),

status_counts as (
    select
        stream,
        sum(billed_events) as billed_events,
        sum(duplicate_events) as duplicate_events,
        sum(unpriced_events) as unpriced_events,
        sum(rejected_events) as rejected_events,
        sum(pending_events) as pending_events
    from status_counts_by_file
    group by stream
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
