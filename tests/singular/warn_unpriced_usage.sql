-- Reports, without failing the run, how many events were metered but not
-- billed for want of a price (see marts.unpriced_usage).
{{ config(severity='warn') }}

select
    stream,
    reason,
    reported_item,
    event_id
from {{ ref('unpriced_usage') }}
