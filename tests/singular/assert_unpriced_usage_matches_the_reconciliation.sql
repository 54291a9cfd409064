-- marts.unpriced_usage lists every unpriced record of the files under
-- usage_root, once: its rows per stream equal the reconciliation's
-- unpriced_events (views of two ledger tables: the records, and the counts
-- per file).
with listed as (
    select
        stream,
        count(*) as listed_events
    from {{ ref('unpriced_usage') }}
    group by stream
)

select
    usage_reconciliation.stream,
    usage_reconciliation.unpriced_events,
    coalesce(listed.listed_events, 0) as listed_events
from {{ ref('usage_reconciliation') }} as usage_reconciliation
left join listed on usage_reconciliation.stream = listed.stream
where usage_reconciliation.unpriced_events <> coalesce(listed.listed_events, 0)
