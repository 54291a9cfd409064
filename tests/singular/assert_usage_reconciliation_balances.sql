-- Every raw record ends in exactly one count: a stream whose raw records
-- do not add up to billed + duplicate + unpriced + rejected + pending fails
-- the build.
select
    stream,
    raw_events,
    billed_events + duplicate_events + unpriced_events + rejected_events
    + pending_events as accounted_events
from {{ ref('usage_reconciliation') }}
where
    raw_events
    <> billed_events + duplicate_events + unpriced_events + rejected_events
    + pending_events
