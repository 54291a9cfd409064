{{ config(
    incremental_strategy='append',
    upgrade_from='marts.agent_daily_costs',
) }}

{#
    What each agent cost: one row per bill line and agent (bill_date,
    tenant_id, agent_id, billing_item, usage_date). Written with the bill
    lines by the run that issues them, append-only like them
    (marts.agent_daily_costs shows them).

    Each agent’s quantities are summed like the bill’s (same macro), then
    priced with the line’s unit price by the bills’ formulas. For tokens and
    characters that exact amount is the agent’s share to the last digit, and
    the agents of a line add up to the line’s amount. For ASR each agent’s
    amount is rounded at the 12th decimal, like the line’s, so the two can
    differ by a few 1e-12; those units go, one each, to the agents with the
    largest quantities, so that the agents of every line add up exactly to
    its amount. amount_due stays on the bill line: cents are not split.
#}
with billed_events as (
    select * from {{ ref('usage_records') }}
    where status = 'billed' and billing_run_id = '{{ billing_run_id() }}'
),

bill_line_items as (
    select * from {{ ref('issued_bill_lines') }}
    -- adjustments are corrections of a line, not usage of agents
    where line_type = 'usage'
),

prices as (
    select * from {{ ref('int_prices_unioned') }}
),

agent_item_quantities as (
    {{ item_quantities(
        'billed_events', ['bill_date', 'usage_date', 'tenant_id', 'agent_id']
    ) }}
),

agent_items as (
    select
        agent_item_quantities.bill_date,
        agent_item_quantities.usage_date,
        agent_item_quantities.tenant_id,
        agent_item_quantities.agent_id,
        agent_item_quantities.quantity,
        agent_item_quantities.event_count,
        bill_line_items.currency,
        bill_line_items.fee_type,
        bill_line_items.billing_item,
        bill_line_items.catalog_item,
        bill_line_items.quantity_unit,
        bill_line_items.unit_price,
        bill_line_items.pricing_unit,
        bill_line_items.is_late,
        bill_line_items.amount as line_amount,
        {{ line_amount(
            'bill_line_items.fee_type',
            'agent_item_quantities.quantity',
            'bill_line_items.unit_price'
        ) }} as rounded_amount
    from agent_item_quantities
    inner join prices
        on
            agent_item_quantities.stream = prices.stream
            and agent_item_quantities.catalog_item = prices.catalog_item
            and agent_item_quantities.price_component
            = prices.price_component
            and {{ price_in_force(
                'prices', 'agent_item_quantities.usage_date'
            ) }}
    inner join bill_line_items
        on
            agent_item_quantities.bill_date = bill_line_items.bill_date
            and agent_item_quantities.tenant_id = bill_line_items.tenant_id
            and agent_item_quantities.usage_date = bill_line_items.usage_date
            and prices.billing_item = bill_line_items.billing_item
    where agent_item_quantities.quantity > 0
),

{# The line’s amount minus its agents’ rounded amounts, in units of 1e-12. #}
residuals as (
    select
        *,
        cast(
            (
                line_amount
                - sum(rounded_amount) over (
                    partition by bill_date, tenant_id, billing_item, usage_date
                )
            ) * 1000000000000 as bigint
        ) as residual_units,
        row_number() over (
            partition by bill_date, tenant_id, billing_item, usage_date
            order by quantity desc, agent_id asc nulls last
        ) as quantity_rank
    from agent_items
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
        cast(
            rounded_amount
            + case
                when quantity_rank <= abs(residual_units)
                    then
                        sign(residual_units)
                        * cast(0.000000000001 as decimal(13, 12))
                else cast(0 as decimal(13, 12))
            end
            as decimal(38, 12)
        ) as amount,
        event_count,
        is_late,
        '{{ billing_run_id() }}' as billing_run_id
    from residuals
)

select * from final
