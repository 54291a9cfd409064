{{ config(
    incremental_strategy='delete+insert',
    unique_key=['stream', 'source_file'],
) }}

{#
    One row per usage file ever read: its size, modification time and
    content hash when last read (a file that changes is read again), its
    source_version (1, plus one each time it was found rewritten), how it
    changed last (read_mode: new, appended or rewritten) and how many raw
    records it holds: raw_records over all its versions (non-blank lines,
    Parquet rows, or the one record of a file that is not read),
    version_records in the version read last. A run updates only the files
    it read; the reconciliation sums the rows of the files present.
#}
with files_read as (
    select * from {{ ref('stg_usage__files') }}
    where is_read_this_run
),

read_records as (
    select * from {{ ref('int_usage_events_unioned') }}
),

record_counts as (
    select
        stream,
        source_file,
        count(*) as version_records
    from read_records
    group by stream, source_file
),

final as (
    select
        files_read.stream,
        files_read.source_file,
        files_read.file_size,
        files_read.last_modified,
        files_read.content_hash,
        files_read.source_version,
        files_read.read_mode,
        coalesce(record_counts.version_records, 0) as version_records,
        coalesce(record_counts.version_records, 0)
        + case files_read.read_mode
            when 'appended'
                then
                    files_read.previous_raw_records
                    - files_read.previous_version_records
            when 'rewritten' then files_read.previous_raw_records
            else 0
        end as raw_records,
        '{{ billing_run_id() }}' as billing_run_id
    from files_read
    left join record_counts
        on
            files_read.stream = record_counts.stream
            and files_read.source_file = record_counts.source_file
)

select * from final
