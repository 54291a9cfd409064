-- A bill's total_amount and amount_due are the sums of its lines, and every
-- line belongs to a bill (and every bill has a line).
with lines as (
    select
        bill_date,
        tenant_id,
        currency,
        sum(amount) as total_amount,
        sum(amount_due) as amount_due,
        count(*) as line_count
    from {{ ref('issued_bill_lines') }}
    group by bill_date, tenant_id, currency
)

select
    coalesce(bills.bill_date, lines.bill_date) as bill_date,
    coalesce(bills.tenant_id, lines.tenant_id) as tenant_id,
    coalesce(bills.currency, lines.currency) as currency,
    bills.total_amount as bill_total_amount,
    lines.total_amount as lines_total_amount,
    bills.amount_due as bill_amount_due,
    lines.amount_due as lines_amount_due
from {{ ref('issued_bills') }} as bills
full outer join lines
    on
        bills.bill_date = lines.bill_date
        and bills.tenant_id = lines.tenant_id
        and bills.currency = lines.currency
where
    bills.bill_date is null
    or lines.bill_date is null
    or bills.total_amount <> lines.total_amount
    or bills.amount_due <> lines.amount_due
    or bills.line_count <> lines.line_count
