{#
    One row per usage file under usage_root now (listed when the run
    starts; source_file is its path relative to usage_root), with its size and modification time and whether this run reads
    it (new or changed since the ledger last saw it).
#}
-- noqa: disable=LT02,AL05
{%- set listing = usage_files_with_read_flag() %}

with listing as (
    {%- if listing %}
    select *
    from (
        values
        {%- for entry in listing %}
            (
                '{{ entry.stream }}',
                '{{ entry.relative | replace("'", "''") }}',
                {{ entry.size }},
                '{{ entry.modified }}',
                {{ 'true' if entry.is_read else 'false' }}
            ){{ ',' if not loop.last }}
        {%- endfor %}
    ) as files (stream, source_file, file_size, last_modified, is_read)
    {%- else %}
    select
        cast(null as string) as stream,
        cast(null as string) as source_file,
        cast(null as bigint) as file_size,
        cast(null as string) as last_modified,
        cast(null as boolean) as is_read
    where false
    {%- endif %}
),

final as (
    select
        cast(stream as string) as stream,
        cast(source_file as string) as source_file,
        cast(file_size as bigint) as file_size,
        cast(last_modified as {{ type_instant() }}) as last_modified,
        cast(is_read as boolean) as is_read_this_run
    from listing
)

select * from final
