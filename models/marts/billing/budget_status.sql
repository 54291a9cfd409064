{#
    One row per budget of seeds/contracts/tenant_budgets.csv (tenant,
    currency, month): what the tenant was billed that month so far (the
    amount_due of its daily bills of that month, late usage included), the
    share of the budget used, a straight-line projection to the end of the
    month from the days closed so far, and the status: exceeded when the
    spend is above the budget, warning from 80 percent of it, else ok.
    Shares and projections are worked out on whole cents, rounded half up,
    so no amount passes through a floating-point division.
#}
with budgets as (
    select * from {{ ref('stg_contracts__tenant_budgets') }}
),

daily_bills as (
    select * from {{ ref('daily_bills') }}
),

billing_runs as (
    select * from {{ ledger_state(ref('billing_runs')) }}
),

closed as (
    select max(closed_through) as last_closed_day
    from billing_runs
),

spent as (
    select
        budgets.tenant_id,
        budgets.currency,
        budgets.budget_month,
        budgets.budget_amount,
        count(daily_bills.bill_date) as bill_count,
        coalesce(sum(daily_bills.amount_due), 0) as spent_amount
    from budgets
    left join daily_bills
        on
            budgets.tenant_id = daily_bills.tenant_id
            and budgets.currency = daily_bills.currency
            and budgets.budget_month <= daily_bills.bill_date
            and last_day(budgets.budget_month) >= daily_bills.bill_date
    group by
        budgets.tenant_id,
        budgets.currency,
        budgets.budget_month,
        budgets.budget_amount
),

measured as (
    select
        spent.tenant_id,
        spent.currency,
        spent.budget_month,
        spent.budget_amount,
        closed.last_closed_day,
        spent.bill_count,
        cast(spent.spent_amount as decimal(38, 2)) as spent_amount,
        cast(spent.spent_amount * 100 as bigint) as spent_cents,
        cast(spent.budget_amount * 100 as bigint) as budget_cents,
        cast(day(last_day(spent.budget_month)) as integer) as days_in_month,
        cast(
            case
                when
                    closed.last_closed_day is null
                    or closed.last_closed_day < spent.budget_month
                    then 0
                when closed.last_closed_day >= last_day(spent.budget_month)
                    then day(last_day(spent.budget_month))
                else day(closed.last_closed_day)
            end as integer
        ) as closed_days
    from spent
    cross join closed
),

final as (
    select
        tenant_id,
        currency,
        budget_month,
        cast(last_day(budget_month) as date) as month_end,
        budget_amount,
        spent_amount,
        cast(bill_count as integer) as bill_count,
        -- percent of the budget, to two decimals; none for a budget of 0
        cast(
            case
                when budget_cents > 0
                    then
                        {{ rounded_quotient(
                            'spent_cents * 10000', 'budget_cents'
                        ) }}
                        * cast(0.01 as decimal(3, 2))
            end as decimal(38, 2)
        ) as share_used_percent,
        closed_days,
        days_in_month,
        -- the spend per closed day, times the days of the month
        cast(
            case
                when closed_days > 0
                    then
                        {{ rounded_quotient(
                            'spent_cents * days_in_month', 'closed_days'
                        ) }}
                        * cast(0.01 as decimal(3, 2))
            end as decimal(38, 2)
        ) as projected_amount,
        case
            when spent_amount > budget_amount then 'exceeded'
            when budget_amount > 0 and spent_amount * 5 >= budget_amount * 4
                then 'warning'
            else 'ok'
        end as status,
        closed_days = days_in_month as is_final,
        last_closed_day as closed_through
    from measured
)

select * from final
