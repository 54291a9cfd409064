{#
    The issued bills: one row per bill date, tenant and currency, as the
    run that closed the day issued them (ledger.issued_bills). A bill never
    changes; late usage and corrections come on a later bill. Bills issued
    before corrections existed have no adjustment lines.
#}
with issued_bills as (
    select * from {{ ledger_state(ref('issued_bills')) }}
),

final as (
    select
        bill_date,
        tenant_id,
        currency,
        model_fee,
        asr_fee,
        tts_fee,
        smart_voice_fee,
        total_amount,
        amount_due,
        line_count,
        late_line_count,
        coalesce(adjustment_line_count, 0) as adjustment_line_count,
        billing_run_id,
        issued_at
    from issued_bills
)

select * from final
