{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['stream', 'source_file'],
) }}

{#-
    usage_records reads this table when it compiles (the files read again,
    whose known lines are not new): it must see it as the last run left it,
    so this model runs after usage_records, never beside it.
-#}
-- depends_on: {{ ref('usage_records') }}

{#
    One row per usage file ever read: its size and modification time when
    read (a file that changes is read again), and how many raw records it
    holds (non-blank lines, Parquet rows). A run updates only the files it
    read; the reconciliation sums the rows of the files present.
#}
with files_read as (
    select * from {{ ref('int_usage_files_present') }}
    where is_read_this_run
),

read_records as (
    select * from {{ ref('int_usage_events_unioned') }}
),

record_counts as (
    select
        stream,
        source_file,
        count(*) as raw_records
    from read_records
    group by stream, source_file
),

final as (
    select
        files_read.stream,
        files_read.source_file,
        files_read.file_size,
        files_read.last_modified,
        coalesce(record_counts.raw_records, 0) as raw_records,
        '{{ billing_run_id() }}' as billing_run_id
    from files_read
    left join record_counts
        on
            files_read.stream = record_counts.stream
            and files_read.source_file = record_counts.source_file
)

select * from final
