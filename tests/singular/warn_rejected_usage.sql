-- Reports, without failing the run, how many raw records were rejected
-- (see marts.rejected_usage).
{{ config(severity='warn') }}

select
    stream,
    reason,
    source_file,
    source_line
from {{ ref('rejected_usage') }}
