{#-
    Pre-hook of marts.unpriced_usage when it is kept incrementally: remove
    the rows whose ledger record this run wrote again (classified anew) and
    those of files no longer under usage_root. Nothing on a first build or a
    full refresh (the table is built whole).
-#}
{% macro unpriced_usage_remove_stale_rows() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} as listed
    where
        exists (
            select 1
            from {{ ref('usage_records') }} as written
            where
                written.billing_run_id = '{{ billing_run_id() }}'
                and written.stream = listed.stream
                and written.source_file = listed.source_file
                and written.source_version = listed.source_version
                and written.source_line = listed.source_line
        )
        or not exists (
            select 1
            from {{ ref('stg_usage__files') }} as present
            where
                present.stream = listed.stream
                and present.source_file = listed.source_file
        )
    {%- endif -%}
{%- endmacro %}
