{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['stream', 'source_file'],
    on_schema_change='append_new_columns',
) }}

{#
    How many records of each usage file the ledger holds in each status:
    what the reconciliation adds up. Incremental, so that a daily run counts
    the files it wrote ledger rows for, not the whole history: a file's
    counts change only when a run writes one of its records (new lines,
    carried-over records classified again). A full refresh counts them all
    again from the ledger.
#}
with usage_records as (
    select * from {{ ref('usage_records') }}
),

{% if is_incremental() %}
files_written as (
    select distinct
        stream,
        source_file
    from usage_records
    where billing_run_id = '{{ billing_run_id() }}'
),

{% endif %}
counted as (
    select
        usage_records.stream,
        usage_records.source_file,
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
    {%- if is_incremental() %}
    inner join files_written
        on
            usage_records.stream = files_written.stream
            and usage_records.source_file = files_written.source_file
    {%- endif %}
    group by usage_records.stream, usage_records.source_file
)

select * from counted
