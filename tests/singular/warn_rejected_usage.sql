-- Reports, without failing the run, how many raw records this run rejected
-- (its new records: a rejection is final). Every rejected record of the files
-- under usage_root is in marts.rejected_usage.
{{ config(severity='warn') }}

select
    stream,
    reason,
    source_file,
    source_line
from {{ ref('usage_records') }}
where status = 'rejected'
