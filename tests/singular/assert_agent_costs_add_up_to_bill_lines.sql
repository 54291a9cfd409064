-- The agents of every usage line issued by this run add up exactly to the
-- line: quantity, event_count and amount; and every line has its agents.
-- (An adjustment corrects a line; it is not usage of agents.)
with lines as (
    select * from {{ ref('issued_bill_lines') }}
    where
        billing_run_id = '{{ billing_run_id() }}'
        and line_type = 'usage'
),

agents as (
    select
        bill_date,
        tenant_id,
        billing_item,
        usage_date,
        sum(quantity) as quantity,
        sum(event_count) as event_count,
        sum(amount) as amount
    from {{ ref('issued_agent_costs') }}
    where billing_run_id = '{{ billing_run_id() }}'
    group by bill_date, tenant_id, billing_item, usage_date
)

select
    coalesce(lines.bill_date, agents.bill_date) as bill_date,
    coalesce(lines.tenant_id, agents.tenant_id) as tenant_id,
    coalesce(lines.billing_item, agents.billing_item) as billing_item,
    coalesce(lines.usage_date, agents.usage_date) as usage_date,
    lines.amount as line_amount,
    agents.amount as agents_amount,
    lines.quantity as line_quantity,
    agents.quantity as agents_quantity
from lines
full outer join agents
    on
        lines.bill_date = agents.bill_date
        and lines.tenant_id = agents.tenant_id
        and lines.billing_item = agents.billing_item
        and lines.usage_date = agents.usage_date
where
    lines.bill_date is null
    or agents.bill_date is null
    or lines.amount <> agents.amount
    or lines.quantity <> agents.quantity
    or lines.event_count <> agents.event_count
