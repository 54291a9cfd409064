{# Reading JSON Lines files (.jsonl, .jsonl.gz) on DuckDB: bytes to lines to records. #}

{% macro duckdb__read_usage_jsonl(spec, files) -%}
    {%- set paths = [] -%}
    {%- for file in files -%}
        {%- do paths.append(file.file_path) -%}
    {%- endfor -%}
    {{ duckdb_json_records(spec, duckdb_text_lines(paths), 'jsonl') }}
{%- endmacro %}


{#- Records from lines (source_file, source_line, is_valid_text, raw_record, is_last). -#}
{% macro duckdb_json_records(spec, lines_sql, source_format) -%}
    {%- set json_paths -%}
        [{%- for column in spec.columns -%}
            '$."{{ column }}"'{{ ', ' if not loop.last }}
        {%- endfor -%}]
    {%- endset -%}
    select
        '{{ source_format }}' as source_format,
        source_file,
        source_line,
        raw_record,
        {{ usage_json_fields(spec) }}
    from (
        select
            *,
            {%- for column in spec.columns %}
            case
                when not is_object then null
                when types[{{ loop.index }}] is null then 'missing'
                when types[{{ loop.index }}] = 'NULL' then 'null'
                when types[{{ loop.index }}] = 'VARCHAR' then 'string'
                when types[{{ loop.index }}] in ('BIGINT', 'UBIGINT', 'DOUBLE')
                    then 'number'
                else 'other'
            end as {{ column }}_kind,
            case
                when types[{{ loop.index }}] = 'DOUBLE'
                    then {{ json_number_token('raw_record', column) }}
                else texts[{{ loop.index }}]
            end as {{ column }}_value{{ ',' if not loop.last }}
            {%- endfor %}
        from (
            select
                *,
                case when is_object then json_type(raw_record, {{ json_paths }}) end
                    as types,
                case when is_object then json_extract_string(raw_record, {{ json_paths }}) end
                    as texts,
                case
                    when is_object
                        then len(json_keys(raw_record))
                        <> len(list_distinct(json_keys(raw_record)))
                end as has_repeated_key
            from (
                select
                    *,
                    -- json_type fails on text that is not JSON, and DuckDB
                    -- evaluates both sides of an "and": guard the argument
                    coalesce(is_valid_text and json_type(
                        case
                            when is_valid_text and json_valid(raw_record)
                                then raw_record
                            else 'null'
                        end
                    ) = 'OBJECT', false) as is_object
                from (
                    {{ lines_sql }}
                )
            )
        )
    )
{%- endmacro %}


{#- The lines of JSON Lines files, split on bytes (see above). -#}
{% macro duckdb_text_lines(paths) -%}
    select * from (
    select
        source_file,
        source_line,
        case
            when is_utf16 then false
            when is_text then true
            else decoded is not null
        end as is_valid_text,
        case
            when is_text or decoded is null then rtrim(piece, chr(13))
            else rtrim(decoded, chr(13))
        end as raw_record,
        is_last
    from (
        select
            source_file,
            is_text,
            is_utf16,
            piece,
            source_line,
            source_line = pieces as is_last,
            case when not is_text then try(decode(cast(piece as blob))) end as decoded
        from (
            select
                source_file,
                is_text,
                is_utf16,
                len(lines) as pieces,
                unnest(lines) as piece,
                unnest(range(1, len(lines) + 1)) as source_line
            from (
                select
                    source_file,
                    is_text,
                    is_utf16,
                    case
                        when is_text
                            then string_split(
                                case
                                    when starts_with(text, chr(65279)) then substr(text, 2)
                                    else text
                                end,
                                chr(10)
                            )
                        else string_split(
                            regexp_replace(cast(content as string), '^\\xEF\\xBB\\xBF', ''),
                            '\x0A'
                        )
                    end as lines
                from (
                    select
                        {{ usage_relative_path('blobs.filename') }} as source_file,
                        content,
                        try(decode(content)) as text,
                        try(decode(content)) is not null as is_text,
                        hex(left_bytes) in ('FFFE', 'FEFF') as is_utf16
                    from (
                        select
                            filename,
                            {{ blob_prefix('content', 'files.file_size') }} as content,
                            {{ blob_prefix('content', '2') }} as left_bytes
                        from read_blob({{ duckdb_path_list(paths) }})
                        inner join {{ ref('stg_usage__files') }} as files
                            on filename = files.file_path
                    ) as blobs
                )
            )
        )
    )
    )
    -- blank lines (NUL bytes of a UTF-16 file's line ends count as blank)
    where trim(replace(raw_record, chr(0), '')) <> ''
{%- endmacro %}


{#-
    .jsonl.gz: the listing made sure each is a whole gzip stream of UTF-8
    text. read_csv decompresses it as lines of one column (no quoting, a
    NUL delimiter, which UTF-8 JSON never holds), numbered by ordinality
    (blank lines kept, so numbers match the file’s lines).
-#}
{% macro duckdb__read_usage_jsonl_gz(spec, files) -%}
    {%- set line_reads = [] -%}
    {%- for file in files -%}
        {%- set line_read -%}
        select
            '{{ file.source_file | replace("'", "''") }}' as source_file,
            cast(source_line as bigint) as source_line,
            true as is_valid_text,
            rtrim(line, chr(13)) as raw_record,
            false as is_last
        from read_csv(
            '{{ duckdb_path_literal(file.file_path) | replace("'", "''") }}',
            columns = {'line': 'VARCHAR'},
            header = false,
            delim = chr(0),
            quote = '',
            escape = '',
            new_line = '\n',
            auto_detect = false,
            compression = 'gzip',
            max_line_size = 8388608
        ) with ordinality as lines (line, source_line)
        where trim(coalesce(line, '')) <> ''
        {%- endset -%}
        {%- do line_reads.append(line_read) -%}
    {%- endfor -%}
    {{ duckdb_json_records(spec, line_reads | join('\nunion all\n'), 'jsonl.gz') }}
{%- endmacro %}
