-- Reports, without failing the run, how many events this run left metered
-- but not billed for want of a price: the records it classified as unpriced
-- (new ones, and unpriced ones it looked at again). Every unpriced record of
-- the files under usage_root is in marts.unpriced_usage.
{{ config(severity='warn') }}

select
    stream,
    reason,
    reported_item,
    event_id
from {{ ref('usage_records') }}
where status = 'unpriced'
