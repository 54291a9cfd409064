{#
    One row per stream: how every raw record of the files under usage_root
    ended. raw_events counts the records read (staging), the other columns
    count statuses (classification); a singular test fails the build unless
    raw_events = billed + duplicate + unpriced + rejected + pending.
#}
with streams as (
    select unnest(['llm', 'asr', 'tts']) as stream
),

raw_records as (
    select
        stream,
        source_file
    from {{ ref('stg_usage__llm_events') }}
    union all
    select
        stream,
        source_file
    from {{ ref('stg_usage__asr_events') }}
    union all
    select
        stream,
        source_file
    from {{ ref('stg_usage__tts_events') }}
),

raw_counts as (
    select
        stream,
        count(distinct source_file) as source_files,
        count(*) as raw_events
    from raw_records
    group by stream
),

status_counts as (
    select
        stream,
        count(*) filter (where status = 'billed') as billed_events,
        count(*) filter (where status = 'duplicate') as duplicate_events,
        count(*) filter (where status = 'unpriced') as unpriced_events,
        count(*) filter (where status = 'rejected') as rejected_events,
        count(*) filter (where status = 'pending') as pending_events
    from {{ ref('int_usage_events_classified') }}
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
