{#
    One row per metered event that has no price: its model or vendor is not
    in the catalog (unknown_model, unknown_vendor), or the catalog has no
    price in force on its usage_date (no_price_in_force). These events are
    never billed at zero; once a price is added to the seeds, the next run
    bills them. Only records of the files under usage_root at the last run
    are listed.
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
        usage_records.event_id,
        usage_records.stream,
        usage_records.tenant_id,
        usage_records.agent_id,
        usage_records.occurred_at,
        usage_records.usage_date,
        usage_records.reported_item,
        usage_records.catalog_item,
        usage_records.input_tokens,
        usage_records.output_tokens,
        usage_records.audio_seconds,
        usage_records.characters,
        usage_records.reason,
        reasons.reason_description,
        usage_records.source_file,
        usage_records.source_version,
        usage_records.source_line
    from usage_records
    left join reasons on usage_records.reason = reasons.reason
    where
        usage_records.status = 'unpriced'
        -- the files under usage_root at the last run
        and exists (
            select 1
            from usage_files
            where
                usage_files.stream = usage_records.stream
                and usage_files.source_file = usage_records.source_file
                and usage_files.unpriced_events > 0
        )
)

select * from final
