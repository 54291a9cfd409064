{{ config(
    incremental_strategy='append',
    upgrade_from='marts.bill_line_items',
) }}

{#
    One row per bill line: bill date, tenant, billing item and usage day.
    Append-only: a run adds the lines of the events it billed (see
    ledger/usage_records) and never changes a line issued before.
    marts.bill_line_items shows them.

    The events’ quantities are summed per tenant, day and billing item
    first, then priced once per line with the price in force on usage_date
    (the pricing page’s formulas, see macros/pricing/billing_amounts.sql):
    the tenant’s contract price or discount in force that day (seed
    tenant_prices) if it has one, else the list price. Both are kept:
    unit_price and amount as billed, list_unit_price and list_amount as
    the price list would have it.
    A line exists only where its quantity is above zero. Late usage (its day
    closed by an earlier run) lands on the bill of the run’s billing_date, as
    lines of its own usage_date with is_late = true.
#}
with billed_events as (
    select * from {{ ref('usage_records') }}
    where status = 'billed' and billing_run_id = '{{ billing_run_id() }}'
),

prices as (
    select * from {{ ref('int_prices_unioned') }}
),

tenant_prices as (
    select * from {{ ref('stg_contracts__tenant_prices') }}
),

currencies as (
    select * from {{ ref('stg_pricing__currencies') }}
),

{# One row per billing item: LLM usage splits into input and output. #}
item_quantities as (
    {{ item_quantities(
        'billed_events', ['bill_date', 'usage_date', 'tenant_id']
    ) }}
),

priced as (
    select
        item_quantities.bill_date,
        item_quantities.usage_date,
        item_quantities.tenant_id,
        item_quantities.catalog_item,
        item_quantities.quantity,
        item_quantities.event_count,
        prices.fee_type,
        prices.billing_item,
        prices.currency,
        prices.quantity_unit,
        prices.unit_price as list_unit_price,
        {{ contracted_unit_price(
            'prices.unit_price',
            'tenant_prices.unit_price',
            'tenant_prices.discount_percent'
        ) }} as unit_price,
        prices.pricing_unit,
        prices.effective_from as price_effective_from,
        tenant_prices.effective_from as contract_effective_from,
        currencies.minor_unit
    from item_quantities
    inner join prices
        on
            item_quantities.stream = prices.stream
            and item_quantities.catalog_item = prices.catalog_item
            and item_quantities.price_component = prices.price_component
            and {{ price_in_force('prices', 'item_quantities.usage_date') }}
    inner join currencies
        on prices.currency = currencies.currency
    left join tenant_prices
        on
            item_quantities.tenant_id = tenant_prices.tenant_id
            and prices.billing_item = tenant_prices.billing_item
            and prices.currency = tenant_prices.currency
            and {{ price_in_force(
                'tenant_prices', 'item_quantities.usage_date'
            ) }}
    where item_quantities.quantity > 0
),

amounts as (
    select
        *,
        {{ line_amount('fee_type', 'quantity', 'unit_price') }} as amount,
        {{ line_amount('fee_type', 'quantity', 'list_unit_price') }}
            as list_amount
    from priced
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
        {{ amount_due('amount', 'minor_unit') }} as amount_due,
        event_count,
        usage_date,
        usage_date < bill_date as is_late,
        '{{ billing_run_id() }}' as billing_run_id,
        {{ run_started_at_literal() }} as issued_at,
        list_unit_price,
        list_amount,
        contract_effective_from
    from amounts
)

select * from final
