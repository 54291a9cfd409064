-- The quantities of the events this run billed, summed per tenant, day,
-- stream and price component (input and output tokens apart, audio seconds,
-- characters), are exactly the quantities on the lines this run issued:
-- nothing billed is lost between the ledger and the bill, nothing else is
-- priced, and no token is billed at the price of the other direction.
with billed_records as (
    select * from {{ ref('usage_records') }}
    where status = 'billed' and billing_run_id = '{{ billing_run_id() }}'
),

billed_components as (
    select
        tenant_id,
        usage_date,
        stream,
        'input' as price_component,
        input_tokens as quantity
    from billed_records
    where stream = 'llm'

    union all

    select
        tenant_id,
        usage_date,
        stream,
        'output' as price_component,
        output_tokens as quantity
    from billed_records
    where stream = 'llm'

    union all

    select
        tenant_id,
        usage_date,
        stream,
        'audio' as price_component,
        audio_seconds as quantity
    from billed_records
    where stream = 'asr'

    union all

    select
        tenant_id,
        usage_date,
        stream,
        'characters' as price_component,
        characters as quantity
    from billed_records
    where stream = 'tts'
),

billed as (
    select
        tenant_id,
        usage_date,
        stream,
        price_component,
        sum(quantity) as quantity
    from billed_components
    group by tenant_id, usage_date, stream, price_component
    having sum(quantity) > 0
),

{# Which stream and price component each billing item of the price list is. #}
billing_items as (
    select distinct
        billing_item,
        stream,
        price_component
    from {{ ref('int_prices_unioned') }}
),

lines as (
    select
        bill_line_items.tenant_id,
        bill_line_items.usage_date,
        billing_items.stream,
        billing_items.price_component,
        sum(bill_line_items.quantity) as quantity
    from {{ ref('issued_bill_lines') }} as bill_line_items
    left join billing_items
        on bill_line_items.billing_item = billing_items.billing_item
    where
        bill_line_items.billing_run_id = '{{ billing_run_id() }}'
        and bill_line_items.line_type = 'usage'
    group by
        bill_line_items.tenant_id,
        bill_line_items.usage_date,
        billing_items.stream,
        billing_items.price_component
)

select
    coalesce(billed.tenant_id, lines.tenant_id) as tenant_id,
    coalesce(billed.usage_date, lines.usage_date) as usage_date,
    coalesce(billed.stream, lines.stream) as stream,
    coalesce(billed.price_component, lines.price_component) as price_component,
    billed.quantity as billed_quantity,
    lines.quantity as line_quantity
from billed
full outer join lines
    on
        billed.tenant_id = lines.tenant_id
        and billed.usage_date = lines.usage_date
        and billed.stream = lines.stream
        and billed.price_component = lines.price_component
where
    lines.stream is null
    or coalesce(billed.quantity, 0) <> coalesce(lines.quantity, 0)
