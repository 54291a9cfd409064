{#
    One row per daily bill that stands far above the recent spend of its
    tenant in that currency. The rule: the 14 days before the bill date, all
    closed by the runs, are its history (a day without a bill counts as 0),
    and the bill is an anomaly when its amount_due is more than 3 times the
    daily mean of that history and at least 1.00 above it. Both are compared
    exactly, as amount_due x 14 against the sum of the history; the mean is
    shown rounded half up to the cent. A bill whose history is not fully
    closed (the first 14 days the warehouse billed) is never flagged.
#}
{%- set history_days = 14 %}
{%- set factor = 3 %}
{%- set minimum_excess = '1.00' %}

with daily_bills as (
    select * from {{ ref('daily_bills') }}
),

billing_runs as (
    select * from {{ ledger_state(ref('billing_runs')) }}
),

first_closed as (
    select min(closed_from) as first_closed_day
    from billing_runs
),

with_history as (
    select
        bills.bill_date,
        bills.tenant_id,
        bills.currency,
        bills.amount_due,
        count(history.bill_date) as history_bill_count,
        coalesce(sum(history.amount_due), 0) as history_amount_due
    from daily_bills as bills
    cross join first_closed
    left join daily_bills as history
        on
            bills.tenant_id = history.tenant_id
            and bills.currency = history.currency
            and (bills.bill_date - {{ history_days }}) <= history.bill_date
            and bills.bill_date > history.bill_date
    where
        (bills.bill_date - {{ history_days }}) >= first_closed.first_closed_day
    group by
        bills.bill_date,
        bills.tenant_id,
        bills.currency,
        bills.amount_due
),

final as (
    select
        bill_date,
        tenant_id,
        currency,
        amount_due,
        cast(history_bill_count as integer) as history_bill_count,
        cast(history_amount_due as decimal(38, 2)) as history_amount_due,
        cast(
            {{ rounded_quotient(
                'cast(history_amount_due * 100 as bigint)', history_days
            ) }}
            * cast(0.01 as decimal(3, 2))
            as decimal(38, 2)
        ) as history_daily_mean
    from with_history
    where
        amount_due * {{ history_days }}
        > history_amount_due * {{ factor }}
        and amount_due * {{ history_days }} - history_amount_due
        >= {{ minimum_excess }} * {{ history_days }}
)

select * from final
