-- Every raw record ends in exactly one count: a stream whose raw records
-- do not add up to billed + duplicate + unpriced + rejected + pending once
-- this run is committed (the per-file counts it built) fails the build, and
-- nothing is committed.
with counts as (
    select
        stream,
        sum(raw_records) as raw_events,
        sum(
            billed_events + duplicate_events + unpriced_events
            + rejected_events + pending_events
        ) as accounted_events
    from {{ ref('usage_status_counts') }}
    group by stream
)

select
    stream,
    raw_events,
    accounted_events
from counts
where raw_events <> accounted_events
