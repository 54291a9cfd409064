{#
    What each agent cost: one row per bill line and agent, written with the
    lines that issued them (ledger.issued_agent_costs).
#}
with issued_agent_costs as (
    select * from {{ ledger_state(ref('issued_agent_costs')) }}
),

final as (
    select
        bill_date,
        tenant_id,
        agent_id,
        usage_date,
        currency,
        fee_type,
        billing_item,
        catalog_item,
        quantity,
        quantity_unit,
        unit_price,
        pricing_unit,
        amount,
        event_count,
        is_late,
        billing_run_id
    from issued_agent_costs
)

select * from final
