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
    lines of its own usage_date with is_late = true. These are the usage
    lines (line_type usage).

    A correction (var reprice_from, `billing run --reprice-from`) prices
    every usage line issued before for a usage day from reprice_from on
    again, with the seeds as they are now. Where the exact amount differs
    from what was billed for the line so far (its amount plus its earlier
    adjustments), the bill of the run’s billing_date gets an adjustment line
    (line_type adjustment): the line’s tenant, item, usage day and quantity,
    the new unit prices beside the one billed so far (previous_unit_price),
    the line’s bill date (adjusted_bill_date), and the differences as
    amount, list_amount and amount_due. Its amount_due is the corrected
    line’s amount due less what was due for it so far, so that a line and
    its adjustments are always due exactly what the line is due at its
    latest prices. A rerun finds nothing left to adjust; a later correction
    adjusts against the line and all its adjustments. Issued lines are never
    touched. Only a run that closes a new day issues adjustments (on that
    day’s bills), like late usage.
#}
{%- set last_closed = last_closed_day() -%}
{%- set reprices = reprice_from() != '' and last_closed is not none
    and billing_date() > last_closed %}
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

{% if reprices %}
{#- What each line issued for the days repriced stands at: line and adjustments. -#}
{%- set state = ledger_state() %}
{%- set kept = none %}
{%- if not (state is string or state.identifier.startswith('__dbt__cte__')) %}
    {%- set kept = adapter.get_columns_in_relation(state)
        | map(attribute='name') | map('lower') | list %}
{%- endif %}
{#- a ledger written before contract prices or adjustments lacks columns -#}
{%- set optional = {
    'list_amount': 'decimal(38, 12)', 'line_type': 'string',
    'adjusted_bill_date': 'date',
} %}
issued_before as (
    select
        bill_date,
        tenant_id,
        currency,
        fee_type,
        billing_item,
        catalog_item,
        quantity,
        quantity_unit,
        pricing_unit,
        usage_date,
        unit_price,
        amount,
        amount_due,
        {%- for column, column_type in optional.items() %}
        {%- if kept is none or column in kept %}
        {{ column }}
        {%- else %}
        cast(null as {{ column_type }}) as {{ column }}
        {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ state }}
    where usage_date >= date '{{ reprice_from() }}'
),

adjusted_so_far as (
    select
        adjusted_bill_date,
        tenant_id,
        billing_item,
        usage_date,
        sum(amount) as amount,
        sum(amount_due) as amount_due,
        sum(list_amount) as list_amount
    from issued_before
    where line_type = 'adjustment'
    group by adjusted_bill_date, tenant_id, billing_item, usage_date
),

latest_adjustments as (
    select
        adjusted_bill_date,
        tenant_id,
        billing_item,
        usage_date,
        unit_price,
        row_number() over (
            partition by adjusted_bill_date, tenant_id, billing_item, usage_date
            order by bill_date desc
        ) as newest_first
    from issued_before
    where line_type = 'adjustment'
),

billed_so_far as (
    select
        usage_lines.bill_date as adjusted_bill_date,
        usage_lines.tenant_id,
        usage_lines.currency,
        usage_lines.fee_type,
        usage_lines.billing_item,
        usage_lines.catalog_item,
        usage_lines.quantity,
        usage_lines.quantity_unit,
        usage_lines.pricing_unit,
        usage_lines.usage_date,
        coalesce(latest_adjustments.unit_price, usage_lines.unit_price)
            as previous_unit_price,
        usage_lines.amount + coalesce(adjusted_so_far.amount, 0)
            as billed_amount,
        usage_lines.amount_due + coalesce(adjusted_so_far.amount_due, 0)
            as billed_amount_due,
        coalesce(usage_lines.list_amount, usage_lines.amount)
        + coalesce(adjusted_so_far.list_amount, 0) as billed_list_amount
    from issued_before as usage_lines
    left join adjusted_so_far
        on
            usage_lines.bill_date = adjusted_so_far.adjusted_bill_date
            and usage_lines.tenant_id = adjusted_so_far.tenant_id
            and usage_lines.billing_item = adjusted_so_far.billing_item
            and usage_lines.usage_date = adjusted_so_far.usage_date
    left join latest_adjustments
        on
            usage_lines.bill_date = latest_adjustments.adjusted_bill_date
            and usage_lines.tenant_id = latest_adjustments.tenant_id
            and usage_lines.billing_item = latest_adjustments.billing_item
            and usage_lines.usage_date = latest_adjustments.usage_date
            and latest_adjustments.newest_first = 1
    -- lines issued before adjustments existed have no line_type
    where coalesce(usage_lines.line_type, 'usage') = 'usage'
),

repriced as (
    select
        billed_so_far.*,
        prices.unit_price as list_unit_price,
        {{ contracted_unit_price(
            'prices.unit_price',
            'tenant_prices.unit_price',
            'tenant_prices.discount_percent'
        ) }} as unit_price,
        prices.effective_from as price_effective_from,
        tenant_prices.effective_from as contract_effective_from,
        currencies.minor_unit
    from billed_so_far
    -- one list price in force, in the same currency: the price guard
    -- refuses a correction to no price or another currency
    inner join prices
        on
            billed_so_far.fee_type = prices.fee_type
            and billed_so_far.catalog_item = prices.catalog_item
            and billed_so_far.billing_item = prices.billing_item
            and billed_so_far.currency = prices.currency
            and {{ price_in_force('prices', 'billed_so_far.usage_date') }}
    inner join currencies
        on prices.currency = currencies.currency
    left join tenant_prices
        on
            billed_so_far.tenant_id = tenant_prices.tenant_id
            and billed_so_far.billing_item = tenant_prices.billing_item
            and billed_so_far.currency = tenant_prices.currency
            and {{ price_in_force(
                'tenant_prices', 'billed_so_far.usage_date'
            ) }}
),

reamounted as (
    select
        *,
        {{ line_amount('fee_type', 'quantity', 'unit_price') }} as new_amount,
        {{ line_amount('fee_type', 'quantity', 'list_unit_price') }}
            as new_list_amount
    from repriced
),

adjustment_lines as (
    select
        {{ billing_date_literal() }} as bill_date,
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
        cast(new_amount - billed_amount as decimal(38, 12)) as amount,
        cast(
            {{ amount_due('new_amount', 'minor_unit') }} - billed_amount_due
            as decimal(38, 2)
        ) as amount_due,
        cast(0 as bigint) as event_count,
        usage_date,
        false as is_late,
        '{{ billing_run_id() }}' as billing_run_id,
        {{ run_started_at_literal() }} as issued_at,
        list_unit_price,
        cast(new_list_amount - billed_list_amount as decimal(38, 12))
            as list_amount,
        contract_effective_from,
        'adjustment' as line_type,
        adjusted_bill_date,
        previous_unit_price
    from reamounted
    where new_amount <> billed_amount
),

{% endif %}

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
        contract_effective_from,
        'usage' as line_type,
        cast(null as date) as adjusted_bill_date,
        cast(null as decimal(18, 6)) as previous_unit_price
    from amounts
    {%- if reprices %}

    union all

    select * from adjustment_lines
    {%- endif %}
)

select * from final
