{#
    One row per tenant, currency and calendar month of bill dates: the daily
    bills of the month rolled up, for finance and for the tenant. Late usage
    is shown apart (late_amount_due), since it belongs to earlier days but
    was billed this month; so are adjustments (adjustment_amount_due),
    corrections of lines of earlier bills issued on bills of this month. A view of the issued bills, which
    never change; a month is final once its last day is closed.
#}
with daily_bills as (
    select * from {{ ref('daily_bills') }}
),

bill_line_items as (
    select * from {{ ref('bill_line_items') }}
),

billing_runs as (
    select * from {{ ledger_state(ref('billing_runs')) }}
),

closed as (
    select max(closed_through) as last_closed_day
    from billing_runs
),

bills as (
    select
        tenant_id,
        currency,
        cast(date_trunc('month', bill_date) as date) as statement_month,
        count(*) as bill_count,
        min(bill_date) as first_bill_date,
        max(bill_date) as last_bill_date,
        sum(model_fee) as model_fee,
        sum(asr_fee) as asr_fee,
        sum(tts_fee) as tts_fee,
        sum(smart_voice_fee) as smart_voice_fee,
        sum(total_amount) as total_amount,
        sum(amount_due) as amount_due,
        sum(line_count) as line_count
    from daily_bills
    group by
        tenant_id,
        currency,
        date_trunc('month', bill_date)
),

late_lines as (
    select
        tenant_id,
        currency,
        cast(date_trunc('month', bill_date) as date) as statement_month,
        count(*) as late_line_count,
        sum(amount_due) as late_amount_due,
        min(usage_date) as earliest_late_usage_date
    from bill_line_items
    where is_late
    group by
        tenant_id,
        currency,
        date_trunc('month', bill_date)
),

adjustment_lines as (
    select
        tenant_id,
        currency,
        cast(date_trunc('month', bill_date) as date) as statement_month,
        count(*) as adjustment_line_count,
        sum(amount_due) as adjustment_amount_due
    from bill_line_items
    where line_type = 'adjustment'
    group by
        tenant_id,
        currency,
        date_trunc('month', bill_date)
),

final as (
    select
        bills.tenant_id,
        bills.currency,
        bills.statement_month,
        cast(
            last_day(bills.statement_month) as date
        ) as month_end,
        cast(bills.bill_count as integer) as bill_count,
        bills.first_bill_date,
        bills.last_bill_date,
        cast(bills.model_fee as decimal(38, 12)) as model_fee,
        cast(bills.asr_fee as decimal(38, 12)) as asr_fee,
        cast(bills.tts_fee as decimal(38, 12)) as tts_fee,
        cast(bills.smart_voice_fee as decimal(38, 12)) as smart_voice_fee,
        cast(bills.total_amount as decimal(38, 12)) as total_amount,
        cast(bills.amount_due as decimal(38, 2)) as amount_due,
        cast(bills.line_count as integer) as line_count,
        cast(coalesce(late_lines.late_line_count, 0) as integer)
            as late_line_count,
        cast(coalesce(late_lines.late_amount_due, 0) as decimal(38, 2))
            as late_amount_due,
        late_lines.earliest_late_usage_date,
        cast(coalesce(adjustment_lines.adjustment_line_count, 0) as integer)
            as adjustment_line_count,
        cast(
            coalesce(adjustment_lines.adjustment_amount_due, 0)
            as decimal(38, 2)
        ) as adjustment_amount_due,
        coalesce(
            closed.last_closed_day
            >= last_day(bills.statement_month),
            false
        ) as is_final
    from bills
    left join late_lines
        on
            bills.tenant_id = late_lines.tenant_id
            and bills.currency = late_lines.currency
            and bills.statement_month = late_lines.statement_month
    left join adjustment_lines
        on
            bills.tenant_id = adjustment_lines.tenant_id
            and bills.currency = adjustment_lines.currency
            and bills.statement_month = adjustment_lines.statement_month
    cross join closed
)

select * from final
