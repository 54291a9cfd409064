{{ config(
    incremental_strategy='append',
    upgrade_from='marts.daily_bills',
) }}

{#
    One row per bill: bill date, tenant and currency. Append-only: a bill is
    issued once, with all its lines, by the run that closes its day, and
    never changes (marts.daily_bills shows them). A bill sums its lines,
    usage and adjustments (a correction of an earlier line, see
    issued_bill_lines): the fees and total_amount are exact
    (12 decimals), amount_due is the sum of the lines’ amounts due (each
    already rounded to the minor unit).
#}
with bill_line_items as (
    select * from {{ ref('issued_bill_lines') }}
),

final as (
    select
        bill_date,
        tenant_id,
        currency,
        cast(
            coalesce(sum(amount) filter (where fee_type = 'model'), 0)
            as decimal(38, 12)
        ) as model_fee,
        cast(
            coalesce(sum(amount) filter (where fee_type = 'asr'), 0)
            as decimal(38, 12)
        ) as asr_fee,
        cast(
            coalesce(sum(amount) filter (where fee_type = 'tts'), 0)
            as decimal(38, 12)
        ) as tts_fee,
        cast(
            coalesce(sum(amount) filter (where fee_type in ('asr', 'tts')), 0)
            as decimal(38, 12)
        ) as smart_voice_fee,
        cast(sum(amount) as decimal(38, 12)) as total_amount,
        cast(sum(amount_due) as decimal(38, 2)) as amount_due,
        cast(count(*) as integer) as line_count,
        cast(count(*) filter (where is_late) as integer) as late_line_count,
        '{{ billing_run_id() }}' as billing_run_id,
        {{ run_started_at_literal() }} as issued_at,
        cast(
            count(*) filter (where line_type = 'adjustment') as integer
        ) as adjustment_line_count
    from bill_line_items
    group by
        bill_date,
        tenant_id,
        currency
)

select * from final
