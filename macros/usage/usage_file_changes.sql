{# What changed in the usage files since the ledger last read them, and which to read. #}

{#- ledger.usage_files as the last run left it, or none on a first run. -#}
{% macro previous_usage_files_relation() -%}
    {%- if not execute -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return(adapter.get_relation(
        database=target.database, schema='ledger', identifier='usage_files'
    )) -}}
{%- endmacro %}


{#- {(stream, source_file): {file_size, last_modified}} of ledger.usage_files. -#}
{% macro previous_usage_files() -%}
    {%- set relation = previous_usage_files_relation() -%}
    {%- if relation is none -%}
        {{- return({}) -}}
    {%- endif -%}
    {%- set result = run_query(
        "select stream, source_file, file_size, "
        ~ listing_time_text('last_modified') ~ " from " ~ relation
    ) -%}
    {%- set known = {} -%}
    {%- for row in result.rows -%}
        {%- do known.update({(row[0], row[1]): {
            'file_size': row[2], 'last_modified': row[3],
        }}) -%}
    {%- endfor -%}
    {{- return(known) -}}
{%- endmacro %}


{#-
    One row per text file read this run (file_path): content_hash, the md5
    of its bytes up to the size listed, and previous_prefix_hash, the md5 of
    its first bytes up to the size read last time (null if it is shorter).
-#}
{% macro usage_text_file_hashes(files, previous) -%}
    {%- if not files -%}
    select
        cast(null as string) as file_path,
        cast(null as string) as content_hash,
        cast(null as string) as previous_prefix_hash
    where false
    {%- else -%}
    {%- set sizes = [] -%}
    {%- for entry in files -%}
        {%- set seen = previous.get((entry.stream, entry.source_file)) -%}
        {%- do sizes.append((entry.file_path, entry.file_size,
            seen.file_size if seen else 'null')) -%}
    {%- endfor -%}
    {{ adapter.dispatch('usage_text_file_hashes', 'agent_billing')(sizes) }}
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__usage_text_file_hashes(sizes) -%}
    {%- set paths = [] -%}
    {%- for path, size, previous_size in sizes -%}
        {%- do paths.append(path) -%}
    {%- endfor -%}
    select
        sizes.file_path,
        md5({{ blob_prefix('blobs.content', 'sizes.listed_size') }}) as content_hash,
        case
            when octet_length(blobs.content) >= sizes.previous_size
                then md5({{ blob_prefix('blobs.content', 'sizes.previous_size') }})
        end as previous_prefix_hash
    from read_blob({{ duckdb_path_list(paths) }}) as blobs
    inner join (
        values
        {%- for path, size, previous_size in sizes %}
            ('{{ path | replace("'", "''") }}', {{ size }}, {{ previous_size }})
            {{- ',' if not loop.last }}
        {%- endfor %}
    ) as sizes (file_path, listed_size, previous_size)
        on blobs.filename = sizes.file_path
{%- endmacro %}

{#- The first bytes of a DuckDB BLOB (there is no substring for BLOBs). -#}
{% macro blob_prefix(blob, size) -%}
    case
        when octet_length({{ blob }}) > {{ size }}
            then unhex(substr(hex({{ blob }}), 1, 2 * {{ size }}))
        else {{ blob }}
    end
{%- endmacro %}

{% macro spark__usage_text_file_hashes(sizes) -%}
    {%- set paths = [] -%}
    {%- for path, size, previous_size in sizes -%}
        {%- do paths.append(path) -%}
    {%- endfor -%}
    select
        sizes.file_path,
        md5(substring(blobs.content, 1, sizes.listed_size)) as content_hash,
        case
            when blobs.length >= sizes.previous_size
                then md5(substring(blobs.content, 1, sizes.previous_size))
        end as previous_prefix_hash
    from binaryFile.{{ spark_usage_files_glob(paths) }} as blobs
    inner join (
        values
        {%- for path, size, previous_size in sizes %}
            ('{{ path | replace("'", "\\'") }}', {{ size }}, {{ previous_size }})
            {{- ',' if not loop.last }}
        {%- endfor %}
    ) as sizes (file_path, listed_size, previous_size)
        on blobs.path = sizes.file_path
{%- endmacro %}


{#-
    The files of one stream this run reads, as dicts of stg_usage__files:
    file_path, source_file, file_format, file_problem, read_mode.
-#}
{% macro usage_files_to_read(stream) -%}
    {%- set files_relation = ref('stg_usage__files') -%}
    {%- if not execute or adapter.get_relation(
        database=files_relation.database, schema=files_relation.schema,
        identifier=files_relation.identifier
    ) is none -%}
        {{- return([]) -}}
    {%- endif -%}
    {%- set result = run_query(
        "select file_path, source_file, file_format, file_problem, read_mode"
        ~ " from " ~ files_relation
        ~ " where is_read_this_run and stream = '" ~ stream ~ "'"
        ~ " order by source_file"
    ) -%}
    {%- set files = [] -%}
    {%- for row in result.rows -%}
        {%- do files.append({
            'file_path': row[0], 'source_file': row[1], 'file_format': row[2],
            'file_problem': row[3], 'read_mode': row[4],
        }) -%}
    {%- endfor -%}
    {{- return(files) -}}
{%- endmacro %}
