{#
    One row per usage file read in this run, with the number of raw records
    it holds (non-blank lines, Parquet rows): the files the reconciliation
    describes.
#}
with read_records as (
    select * from {{ ref('int_usage_events_unioned') }}
),

final as (
    select
        stream,
        source_file,
        count(*) as raw_records
    from read_records
    group by stream, source_file
)

select * from final
