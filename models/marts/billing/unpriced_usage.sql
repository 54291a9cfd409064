{{ config(
    materialized=('table' if target.type == 'spark' else 'incremental'),
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook="{{ unpriced_usage_remove_stale_rows() }}",
) }}

-- depends_on: {{ ref('int_usage_status_counts') }}

{#
    One row per metered event that has no price: its model or vendor is not
    in the catalog (unknown_model, unknown_vendor), or the catalog has no
    price in force on its usage_date (no_price_in_force). These events are
    never billed at zero; once a price is added to the seeds, a rebuild bills
    them.

    Only records of the files under usage_root now are listed. On DuckDB the
    table is kept incrementally, so that a daily run costs what its new
    records cost, not the history (unpriced records stay open for the whole
    late window): before the insert, a pre-hook removes the rows whose
    record this run wrote again (they may be billed now) and those of files
    no longer present; then the run adds the unpriced records it wrote, and
    those of a file that is present again. A full refresh, and Spark,
    rebuild it from the ledger.
#}
with usage_records as (
    select * from {{ ref('usage_records') }}
),

usage_files as (
    select * from {{ ref('stg_usage__files') }}
),

{% if is_incremental() %}
status_counts as (
    select * from {{ ref('int_usage_status_counts') }}
),

{# Files present with unpriced records that the table does not list. #}
files_back as (
    select
        status_counts.stream,
        status_counts.source_file
    from status_counts
    where
        status_counts.unpriced_events > 0
        and not exists (
            select 1
            from {{ this }} as listed
            where
                listed.stream = status_counts.stream
                and listed.source_file = status_counts.source_file
        )
),

{% endif %}
-- noqa: disable=LT02
final as (
    select
        event_id,
        stream,
        tenant_id,
        agent_id,
        occurred_at,
        usage_date,
        reported_item,
        catalog_item,
        input_tokens,
        output_tokens,
        audio_seconds,
        characters,
        reason,
        source_file,
        source_version,
        source_line
    from usage_records
    where
        status = 'unpriced'
        -- the files under usage_root now
        and exists (
            select 1
            from usage_files
            where
                usage_files.stream = usage_records.stream
                and usage_files.source_file = usage_records.source_file
        )
        {% if is_incremental() -%}
        and (
            billing_run_id = '{{ billing_run_id() }}'
            or exists (
                select 1
                from files_back
                where
                    files_back.stream = usage_records.stream
                    and files_back.source_file = usage_records.source_file
            )
        )
        {%- endif %}
)
-- noqa: enable=LT02

select * from final
