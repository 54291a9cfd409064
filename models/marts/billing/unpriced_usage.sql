{#
    One row per metered event that has no price: its model or vendor is not
    in the catalog (unknown_model, unknown_vendor), or the catalog has no
    price in force on its usage_date (no_price_in_force). These events are
    never billed at zero; once a price is added to the seeds, a rebuild bills
    them.
#}
with usage_records as (
    select * from {{ ref('usage_records') }}
),

usage_files as (
    select * from {{ ref('int_usage_files_present') }}
),

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
)

select * from final
