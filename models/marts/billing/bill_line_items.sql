{#
    The issued bill lines: one row per bill date, tenant, billing item and
    usage day, as issued (ledger.issued_bill_lines). Lines issued before
    contract prices existed were all billed at the list price: their list
    columns are their billed ones.
#}
with issued_bill_lines as (
    select * from {{ ledger_state(ref('issued_bill_lines')) }}
),

final as (
    select
        bill_date,
        tenant_id,
        currency,
        fee_type,
        billing_item,
        catalog_item,
        quantity,
        quantity_unit,
        unit_price,
        pricing_unit,
        price_effective_from,
        amount,
        amount_due,
        event_count,
        usage_date,
        is_late,
        billing_run_id,
        issued_at,
        coalesce(list_unit_price, unit_price) as list_unit_price,
        coalesce(list_amount, amount) as list_amount,
        contract_effective_from,
        coalesce(line_type, 'usage') as line_type,
        adjusted_bill_date,
        previous_unit_price
    from issued_bill_lines
)

select * from final
