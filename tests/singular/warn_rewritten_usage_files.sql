{{ config(severity='warn') }}

-- Usage files this run found rewritten or cut short since an earlier run
-- read them (not lines appended): what was classified keeps its status, the
-- new content was read as a new source_version. A producer rewriting files
-- in place is worth a look.
select
    stream,
    source_file,
    source_version,
    file_size,
    last_modified
from {{ ref('usage_files') }}
where
    billing_run_id = '{{ billing_run_id() }}'
    and read_mode = 'rewritten'
