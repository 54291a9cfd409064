{# Reading JSON Lines files (.jsonl, .jsonl.gz) on Spark: bytes to lines to records. #}

{#
    Spark reads the same layout: JSON Lines files whole through the
    binaryFile source (so that each line keeps its number), Parquet files
    natively with their row index. Paths are read through one glob per
    read, of the exact files this run reads.
#}


{#- A Spark path that matches exactly these files (a glob of their names). -#}
{% macro spark_usage_files_glob(files) -%}
    {%- set root = spark_qualified_usage_root() -%}
    {%- set names = [] -%}
    {%- for file in files -%}
        {%- set relative = file[root | length + 1:] -%}
        {%- for special in ['\\', '{', '}', '[', ']', '*', '?', ','] -%}
            {%- set relative = relative | replace(special, '\\' ~ special) -%}
        {%- endfor -%}
        {%- do names.append(relative) -%}
    {%- endfor -%}
    {{- '`' ~ (root ~ '/{' ~ (names | join(',')) ~ '}') | replace('`', '``') ~ '`' -}}
{%- endmacro %}


{% macro spark__read_usage_jsonl(spec, files) -%}
    {%- set paths = [] -%}
    {%- for file in files -%}
        {%- do paths.append(file.file_path) -%}
    {%- endfor -%}
    {%- set lines -%}
    select
        files.source_file,
        substring(blobs.content, 1, files.file_size) as content
    from binaryFile.{{ spark_usage_files_glob(paths) }} as blobs
    inner join {{ ref('stg_usage__files') }} as files
        on blobs.path = files.file_path
    {%- endset -%}
    {{ spark_json_records(spec, spark_text_lines(lines), 'jsonl') }}
{%- endmacro %}


{#-
    .jsonl.gz: Spark’s text source decompresses each file whole (wholetext),
    keeping its bytes as they are; the lines are split as for .jsonl.
-#}
{% macro spark__read_usage_jsonl_gz(spec, files) -%}
    {%- set paths = [] -%}
    {%- for file in files -%}
        {%- do paths.append(file.file_path) -%}
    {%- endfor -%}
    {%- set view = 'agent_billing_usage_gz_' ~ (files[0].source_file.split('/')[0]) -%}
    {%- if execute -%}
        {% do run_query(
            "create or replace temporary view " ~ view ~ " using text options (path '"
            ~ (spark_usage_files_glob(paths)[1:-1] | replace('``', '`') | replace("\\", "\\\\") | replace("'", "\\'"))
            ~ "', wholetext 'true')"
        ) %}
    {%- endif -%}
    {%- set lines -%}
    select
        files.source_file,
        cast(texts.value as binary) as content
    from (
        -- the file's URI (file:///a%5B1%5D) as binaryFile lists it (file:/a[1])
        select
            value,
            url_decode(replace(
                regexp_replace(input_file_name(), '^file://', 'file:'), '+', '%2B'
            )) as file_path
        from {{ view }}
    ) as texts
    inner join {{ ref('stg_usage__files') }} as files
        on texts.file_path = files.file_path
    {%- endset -%}
    {{ spark_json_records(spec, spark_text_lines(lines), 'jsonl.gz') }}
{%- endmacro %}


{#-
    Lines from (source_file, content) rows as DuckDB’s twin splits them: a
    file that is UTF-8 as text (a BOM dropped), any other on bytes, through
    their hex digits ("7B 22 ... " split on "0A "), a line that is not UTF-8
    written with DuckDB’s escapes (\xNN for bytes outside printable ASCII,
    and for the quote, the apostrophe and the backslash).
-#}
{% macro spark_text_lines(files_sql) -%}
    select * from (
        select
            source_file,
            source_line,
            not is_utf16 and is_valid_utf8(cast(line_bytes as string)) as is_valid_text,
            case
                when is_valid_utf8(cast(line_bytes as string))
                    then trim(trailing char(13) from cast(line_bytes as string))
                else array_join(
                    transform(
                        split(trim(piece), ' '),
                        byte -> case
                            when
                                cast(conv(byte, 16, 10) as int) between 32 and 126
                                and byte not in ('22', '27', '5C')
                                then char(cast(conv(byte, 16, 10) as int))
                            else concat('\\x', byte)
                        end
                    ),
                    ''
                )
            end as raw_record,
            source_line = pieces as is_last
        from (
            select
                source_file,
                is_utf16,
                size(pieces_array) as pieces,
                piece_number + 1 as source_line,
                piece,
                unhex(replace(piece, ' ', '')) as line_bytes
            from (
                select
                    source_file,
                    hex(substring(content, 1, 2)) in ('FFFE', 'FEFF') as is_utf16,
                    split(
                        regexp_replace(
                            regexp_replace(hex(content), '(..)', '$1 '),
                            '^EF BB BF ',
                            ''
                        ),
                        '0A '
                    ) as pieces_array
                from ({{ files_sql }}) as files
            )
            lateral view posexplode(pieces_array) lines as piece_number, piece
        )
    )
    where trim(replace(raw_record, char(0), '')) <> ''
{%- endmacro %}


{#- Records from lines (source_file, source_line, is_valid_text, raw_record, is_last). -#}
{% macro spark_json_records(spec, lines_sql, source_format) -%}
    {#- Spark’s JSON reader would also take 'single-quoted' text; DuckDB’s not. -#}
    {%- set options = "map('allowSingleQuotes', 'false')" -%}
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
                when {{ column }}_type is null then 'missing'
                when {{ column }}_type = 'VOID' then 'null'
                when {{ column }}_type = 'STRING' then 'string'
                when {{ column }}_type rlike '^(BIGINT|INT|SMALLINT|TINYINT|DECIMAL|DOUBLE|FLOAT)'
                    then 'number'
                else 'other'
            end as {{ column }}_kind,
            case
                -- a key repeated (ambiguous_record): shown as the first value
                when has_repeated_key
                    then get_json_object(json_text, '$.{{ column }}')
                when {{ column }}_type = 'STRING'
                    then variant_get(parsed, '$.{{ column }}', 'string')
                when {{ column }}_type rlike '^(BIGINT|INT|SMALLINT|TINYINT)'
                    then cast(variant_get(parsed, '$.{{ column }}', 'bigint') as string)
                when {{ column }}_type rlike '^(DECIMAL|DOUBLE|FLOAT)'
                    then {{ json_number_token('json_text', column) }}
                when {{ column }}_type <> 'VOID'
                    then get_json_object(json_text, '$.{{ column }}')
            end as {{ column }}_value{{ ',' if not loop.last }}
            {%- endfor %}
        from (
            select
                *,
                {%- for column in spec.columns %}
                schema_of_variant(variant_get(parsed, '$.{{ column }}'))
                    as {{ column }}_type{{ ',' if not loop.last }}
                {%- endfor %}
            from (
                select
                    *,
                    case
                        when is_object then size(keys) <> size(array_distinct(keys))
                    end as has_repeated_key,
                    case when is_object then try_parse_json(json_text) end as parsed
                from (
                    select
                        *,
                        case when is_object then json_object_keys(json_text) end as keys
                    from (
                        select
                            *,
                            -- null for text that is not a JSON object; the
                            -- parser stops at the object's end, so text after
                            -- it is refused here
                            coalesce(
                                is_valid_text
                                and from_json(json_text, 'map<string, string>', {{ options }})
                                is not null
                                and json_text rlike '\\}\\s*\\z',
                                false
                            ) as is_object
                        from (
                            select
                                *,
                                -- DuckDB's parser accepts a comma before the
                                -- closing brace
                                regexp_replace(raw_record, ',\\s*(\\}\\s*)\\z', '$1')
                                    as json_text
                            from ({{ lines_sql }}) as lines
                        )
                    )
                )
            )
        )
    )
{%- endmacro %}
