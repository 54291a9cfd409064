-- The quantities of the events this run billed, summed per tenant, day and
-- stream, are exactly the quantities on the lines this run issued: nothing
-- billed is lost between the ledger and the bill, and nothing else is priced.
with billed as (
    select
        tenant_id,
        usage_date,
        stream,
        coalesce(sum(input_tokens), 0) + coalesce(sum(output_tokens), 0)
        + coalesce(sum(audio_seconds), 0)
        + coalesce(sum(characters), 0) as quantity
    from {{ ref('usage_records') }}
    where status = 'billed' and billing_run_id = '{{ billing_run_id() }}'
    group by tenant_id, usage_date, stream
),

lines as (
    select
        tenant_id,
        usage_date,
        case fee_type when 'model' then 'llm' else fee_type end as stream,
        sum(quantity) as quantity
    from {{ ref('bill_line_items') }}
    where billing_run_id = '{{ billing_run_id() }}'
    group by tenant_id, usage_date, stream
)

select
    coalesce(billed.tenant_id, lines.tenant_id) as tenant_id,
    coalesce(billed.usage_date, lines.usage_date) as usage_date,
    coalesce(billed.stream, lines.stream) as stream,
    billed.quantity as billed_quantity,
    lines.quantity as line_quantity
from billed
full outer join lines
    on
        billed.tenant_id = lines.tenant_id
        and billed.usage_date = lines.usage_date
        and billed.stream = lines.stream
where coalesce(billed.quantity, 0) <> coalesce(lines.quantity, 0)
