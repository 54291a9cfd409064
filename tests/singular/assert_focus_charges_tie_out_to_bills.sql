-- Every bill issued by this run has its FOCUS charges, one per line, and
-- they add up to the bill: BilledCost to amount_due, ContractedCost (the
-- exact amount at the prices billed) to total_amount. FOCUS names are
-- quoted to keep their case on every engine.
-- noqa: disable=RF06
{%- set q = adapter.quote %}
with bills as (
    select * from {{ ref('issued_bills') }}
    where billing_run_id = '{{ billing_run_id() }}'
),

charges as (
    select
        {{ q('x_BillDate') }} as bill_date,
        {{ q('SubAccountId') }} as tenant_id,
        {{ q('BillingCurrency') }} as currency,
        sum({{ q('BilledCost') }}) as billed_cost,
        sum({{ q('ContractedCost') }}) as contracted_cost,
        count(*) as charge_count
    from {{ ref('issued_focus_charges') }}
    where {{ q('x_BillingRunId') }} = '{{ billing_run_id() }}'
    group by
        {{ q('x_BillDate') }},
        {{ q('SubAccountId') }},
        {{ q('BillingCurrency') }}
)

select
    coalesce(bills.bill_date, charges.bill_date) as bill_date,
    coalesce(bills.tenant_id, charges.tenant_id) as tenant_id,
    coalesce(bills.currency, charges.currency) as currency,
    bills.amount_due,
    charges.billed_cost,
    bills.total_amount,
    charges.contracted_cost
from bills
full outer join charges
    on
        bills.bill_date = charges.bill_date
        and bills.tenant_id = charges.tenant_id
        and bills.currency = charges.currency
where
    bills.bill_date is null
    or charges.bill_date is null
    or bills.amount_due <> charges.billed_cost
    or bills.total_amount <> charges.contracted_cost
    or bills.line_count <> charges.charge_count
