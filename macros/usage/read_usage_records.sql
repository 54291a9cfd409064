{#
    One row per raw record of a usage stream: every non-blank line of its
    JSON Lines files (.jsonl, .jsonl.gz), every row of its Parquet files, and
    one record for each file that is not read (unsupported_format,
    unreadable_file, invalid_encoding), from the files of this run's listing
    (stg_usage__files) that are new or changed.

    Columns: source_format, source_file (the path relative to usage_root),
    source_version (how many times the file was found rewritten, plus one),
    source_line (1-based line or row number; 0 for a file-level record),
    raw_record (the line's text, bytes that are not UTF-8 written as \xNN;
    for Parquet, built later only for records that are rejected),
    record_error, then each contract column as text.

    record_error, first that applies: the file's problem; invalid_encoding
    (a line that is not UTF-8, every line of a UTF-16 file); incomplete_line
    (the last line of a file, without a newline, that is not a JSON object:
    still being written, kept pending); malformed_record (not a JSON
    object); ambiguous_record (a key repeated); invalid_event_id /
    invalid_tenant_id (not a string or an integer); schema_mismatch (every
    row of a Parquet file whose columns do not fit the contract).

    JSON values are taken as written: a string's text, an integer's digits,
    and for any other number the token as it stands in the line (never
    through a double).
#}
{% macro read_usage_records(stream) -%}
    {%- set spec = usage_stream_spec(stream) -%}
    {%- set parts = [] -%}
    {%- set by_kind = {'problem': [], 'jsonl': [], 'jsonl.gz': [], 'parquet': []} -%}
    {%- for file in usage_files_to_read(stream) -%}
        {%- do by_kind['problem' if file.file_problem else file.file_format].append(file) -%}
    {%- endfor -%}

    {%- if by_kind['problem'] -%}
        {%- do parts.append(usage_file_records(spec, by_kind['problem'])) -%}
    {%- endif -%}
    {%- if by_kind['jsonl'] -%}
        {%- do parts.append(adapter.dispatch('read_usage_jsonl', 'agent_billing')(
            spec, by_kind['jsonl']
        )) -%}
    {%- endif -%}
    {%- if by_kind['jsonl.gz'] -%}
        {%- do parts.append(adapter.dispatch('read_usage_jsonl_gz', 'agent_billing')(
            spec, by_kind['jsonl.gz']
        )) -%}
    {%- endif -%}
    {%- if by_kind['parquet'] -%}
        {%- set paths = [] -%}
        {%- for file in by_kind['parquet'] -%}
            {%- do paths.append(file.file_path) -%}
        {%- endfor -%}
        {%- for part in adapter.dispatch('read_usage_parquet', 'agent_billing')(
            spec, paths
        ) -%}
            {%- do parts.append(part) -%}
        {%- endfor -%}
    {%- endif -%}

    {%- if not parts -%}
        {%- do parts.append(usage_records_empty(spec)) -%}
    {%- endif -%}

    select
        read.source_format,
        read.source_file,
        files.source_version,
        read.source_line,
        read.raw_record,
        read.record_error,
        {%- for column in spec.columns %}
        read.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (
        {{ parts | join('\n        union all\n') }}
    ) as read
    inner join {{ ref('stg_usage__files') }} as files
        on
            files.stream = '{{ stream }}'
            and read.source_file = files.source_file
{%- endmacro %}


{% macro usage_records_empty(spec) -%}
    select
        cast(null as string) as source_format,
        cast(null as string) as source_file,
        cast(null as bigint) as source_line,
        cast(null as string) as raw_record,
        cast(null as string) as record_error,
        {%- for column in spec.columns %}
        cast(null as string) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    where false
{%- endmacro %}


{#- One rejected record (line 0) per file that is not read, with its problem. -#}
{% macro usage_file_records(spec, files) -%}
    select
        file_format as source_format,
        source_file,
        cast(0 as bigint) as source_line,
        cast(null as string) as raw_record,
        file_problem as record_error,
        {%- for column in spec.columns %}
        cast(null as string) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ ref('stg_usage__files') }}
    where
        is_read_this_run
        and file_problem is not null
        and source_file in (
            {%- for file in files %}
            '{{ file.source_file | replace("'", "''") }}'{{ ',' if not loop.last }}
            {%- endfor %}
        )
{%- endmacro %}


{#-
    Lines as text, whatever their bytes: from (source_file, content, is_text,
    is_utf16) rows, where content is a whole file's text when it is UTF-8
    (is_text) and else its bytes with every byte outside printable ASCII
    written \xNN (how DuckDB and this macro's Spark twin render bytes), one
    row per non-blank line: source_line, raw_record, is_valid_text, is_last
    (the file's last line, not ended by a newline).
-#}


{#- The record's fields from its text: shared by both engines' readers. -#}
{% macro usage_json_fields(spec) -%}
    {%- set id_errors = [] -%}
    case
        when not is_valid_text then 'invalid_encoding'
        when not is_object and is_last then 'incomplete_line'
        when not is_object then 'malformed_record'
        when has_repeated_key then 'ambiguous_record'
        {%- for column in ['event_id', 'tenant_id'] %}
        when not coalesce(
            {{ column }}_kind in ('string', 'null', 'missing')
            or ({{ column }}_kind = 'number'
                and {{ text_matches(column ~ '_value', '-?[0-9]+') }}),
            false
        ) then 'invalid_{{ column }}'
        {%- endfor %}
    end as record_error,
    {%- for column in spec.columns %}
    {{ column }}_value as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}


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
    The text of a JSON number as written in the line, for a key of the
    object: an unquoted token after the key (a quote preceded by an even
    number of backslashes starts the key, so text inside a string never
    matches).
-#}
{% macro json_number_token(text, key) -%}
    {{ return(adapter.dispatch('json_number_token', 'agent_billing')(text, key)) }}
{%- endmacro %}

{% macro spark__json_number_token(text, key) -%}
    nullif(regexp_extract(
        {{ text }},
        '(?:^|[^\\\\])(?:\\\\\\\\)*"{{ key }}"\\s*:\\s*(-?[0-9][0-9.eE+-]*)',
        1
    ), '')
{%- endmacro %}

{% macro default__json_number_token(text, key) -%}
    nullif(regexp_extract(
        {{ text }},
        '(?:^|[^\\])(?:\\\\)*"{{ key }}"\s*:\s*(-?[0-9][0-9.eE+-]*)',
        1
    ), '')
{%- endmacro %}


{#-
    .jsonl.gz: the listing made sure each is a whole gzip stream of UTF-8
    text. read_csv decompresses it as lines of one column (no quoting, a
    NUL delimiter, which UTF-8 JSON never holds), numbered by ordinality
    (blank lines kept, so numbers match the file's lines).
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

{#-
    The Parquet files that fit the contract, grouped by the types of their
    contract columns (one read per group), and those that do not: a required
    column missing, or a column of a type that cannot be read as its value.
    columns_by_file: {file: {column: DuckDB type name}}. Both engines use it.
-#}
{% macro parquet_files_by_fit(spec, files, columns_by_file) -%}
    {%- set fitting_groups = {} -%}
    {%- set mismatched = [] -%}
    {%- for file in files -%}
        {%- set file_columns = columns_by_file.get(file, {}) -%}
        {%- set ns = namespace(fits=true, signature=[]) -%}
        {%- for column in spec.columns -%}
            {%- if column in file_columns -%}
                {%- if not parquet_type_fits(column, file_columns[column]) -%}
                    {%- set ns.fits = false -%}
                {%- endif -%}
                {%- set ns.signature = ns.signature + [column ~ ':' ~ file_columns[column]] -%}
            {%- elif column not in spec.optional -%}
                {%- set ns.fits = false -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if ns.fits -%}
            {%- set key = ns.signature | join(',') -%}
            {%- if key not in fitting_groups -%}
                {%- do fitting_groups.update({key: []}) -%}
            {%- endif -%}
            {%- do fitting_groups[key].append(file) -%}
        {%- else -%}
            {%- do mismatched.append(file) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return({'groups': fitting_groups, 'mismatched': mismatched}) -}}
{%- endmacro %}


{#
    Parquet files are read natively, one read per distinct fitting schema, so
    a column keeps its own type until it is rendered as text. Files that do
    not fit contribute one schema_mismatch record per row.
#}
{% macro duckdb__read_usage_parquet(spec, files) -%}
    {%- set schema_rows = run_query(
        "select file_name, column_id, name, duckdb_type, num_children"
        ~ " from parquet_schema(" ~ duckdb_path_list(files) ~ ")"
        ~ " order by file_name, column_id"
    ) -%}
    {#- Keep top-level columns only: walk the flattened schema tree. -#}
    {%- set columns_by_file = {} -%}
    {%- set ns = namespace(stack=[]) -%}
    {%- for row in schema_rows.rows -%}
        {%- set file, column_id, name, type_name, children = row -%}
        {%- if column_id == 0 -%}
            {%- do columns_by_file.update({file: {}}) -%}
            {%- set ns.stack = [children or 0] -%}
        {%- else -%}
            {%- if ns.stack | length == 1 -%}
                {%- do columns_by_file[file].update({name: type_name}) -%}
            {%- endif -%}
            {%- do ns.stack.append(ns.stack.pop() - 1) -%}
            {%- if children -%}
                {%- do ns.stack.append(children) -%}
            {%- endif -%}
            {%- for _ in range(ns.stack | length) -%}
                {%- if ns.stack and ns.stack[-1] == 0 -%}
                    {%- do ns.stack.pop() -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}

    {%- set by_fit = parquet_files_by_fit(spec, files, columns_by_file) -%}
    {%- set fitting_groups = by_fit.groups -%}
    {%- set mismatched = by_fit.mismatched -%}

    {%- set parts = [] -%}
    {%- for key, group_files in fitting_groups.items() -%}
        {%- set present = columns_by_file[group_files[0]] -%}
        {%- set part -%}
    select
        'parquet' as source_format,
        {{ usage_relative_path('filename') }} as source_file,
        file_row_number + 1 as source_line,
        cast(null as string) as raw_record,
        cast(null as string) as record_error,
        {%- for column in spec.columns %}
        {%- if column in present %}
        cast({{ adapter.quote(column) }} as string) as {{ column }}
        {%- else %}
        cast(null as string) as {{ column }}
        {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    from read_parquet(
        {{ duckdb_path_list(group_files) }},
        filename = true,
        file_row_number = true,
        hive_partitioning = false
    )
        {%- endset -%}
        {%- do parts.append(part) -%}
    {%- endfor -%}

    {%- for file in mismatched -%}
        {%- set part -%}
    select
        'parquet' as source_format,
        {{ usage_relative_path("'" ~ (file | replace("'", "''")) ~ "'") }}
            as source_file,
        file_row_number + 1 as source_line,
        cast(
            to_json(struct_pack(*columns(* exclude (file_row_number))))
            as string
        ) as raw_record,
        'schema_mismatch' as record_error,
        {%- for column in spec.columns %}
        cast(null as string) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from read_parquet(
        '{{ duckdb_path_literal(file) | replace("'", "''") }}',
        file_row_number = true,
        hive_partitioning = false
    )
        {%- endset -%}
        {%- do parts.append(part) -%}
    {%- endfor -%}
    {{- return(parts) -}}
{%- endmacro %}


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
    .jsonl.gz: Spark's text source decompresses each file whole (wholetext),
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
    Lines from (source_file, content) rows as DuckDB's twin splits them: a
    file that is UTF-8 as text (a BOM dropped), any other on bytes, through
    their hex digits ("7B 22 ... " split on "0A "), a line that is not UTF-8
    written with DuckDB's escapes (\xNN for bytes outside printable ASCII,
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
    {#- Spark's JSON reader would also take 'single-quoted' text; DuckDB's not. -#}
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


{#- Spark's type names, as the DuckDB names parquet_type_fits knows. -#}
{% macro spark_parquet_type_name(spark_type) -%}
    {%- set type_name = spark_type | upper -%}
    {%- set names = {
        'STRING': 'VARCHAR', 'INT': 'INTEGER', 'BYTE': 'TINYINT',
        'SHORT': 'SMALLINT', 'LONG': 'BIGINT',
    } -%}
    {{- return(names.get(type_name, type_name)) -}}
{%- endmacro %}


{#-
    A Parquet column as text, as DuckDB renders it: doubles through
    spark_number_text; an instant (a
    timestamp adjusted to UTC) gets DuckDB's +00 offset, a local timestamp
    (TIMESTAMP_NTZ) none.
-#}
{% macro spark_parquet_column_text(column, type_name) -%}
    {%- set quoted = adapter.quote(column) -%}
    {%- if type_name == 'TIMESTAMP' -%}
        cast({{ quoted }} as string) || '+00'
    {%- elif type_name in ('DOUBLE', 'FLOAT') -%}
        {{ spark_number_text('cast(' ~ quoted ~ ' as string)') }}
    {%- else -%}
        cast({{ quoted }} as string)
    {%- endif -%}
{%- endmacro %}


{#-
    A double's text as DuckDB writes it (the shortest digits, like Python's
    repr): plain digits from 1e-4 to below 1e16 (0.0005, 10000000.0), else
    1e-07 or 1.5e+300. Spark (Java) writes E notation below 1e-3 and from 1e7
    (5.0E-4, 1.0E7), for a Parquet double and for a JSON number read as text.
-#}
{% macro spark_number_text(text) -%}
    {%- set exponent = "cast(substring_index(" ~ text ~ ", 'E', -1) as int)" -%}
    case
        when not {{ text }} rlike '^-?[0-9]+[.][0-9]+E-?[0-9]+\\z' then {{ text }}
        when {{ exponent }} between -4 and 15
            then regexp_replace(
                regexp_replace(
                    cast(try_cast({{ text }} as decimal(38, 22)) as string),
                    '0+\\z',
                    ''
                ),
                '[.]\\z',
                '.0'
            )
        else concat(
            regexp_replace(substring_index({{ text }}, 'E', 1), '[.]0\\z', ''),
            'e',
            case when {{ exponent }} < 0 then '-' else '+' end,
            case when abs({{ exponent }}) < 10 then '0' else '' end,
            cast(abs({{ exponent }}) as string)
        )
    end
{%- endmacro %}


{% macro spark__read_usage_parquet(spec, files) -%}
    {%- set columns_by_file = {} -%}
    {%- for file in files -%}
        {%- set described = run_query(
            'describe query select * from parquet.' ~ spark_usage_files_glob([file])
        ) -%}
        {%- set columns = {} -%}
        {%- for row in described.rows -%}
            {%- do columns.update({row[0]: spark_parquet_type_name(row[1])}) -%}
        {%- endfor -%}
        {%- do columns_by_file.update({file: columns}) -%}
    {%- endfor -%}

    {%- set by_fit = parquet_files_by_fit(spec, files, columns_by_file) -%}
    {%- set fitting_groups = by_fit.groups -%}
    {%- set mismatched = by_fit.mismatched -%}

    {%- set parts = [] -%}
    {%- for key, group_files in fitting_groups.items() -%}
        {%- set present = columns_by_file[group_files[0]] -%}
        {%- set part -%}
    select
        'parquet' as source_format,
        {{ usage_relative_path('_metadata.file_path') }} as source_file,
        _metadata.row_index + 1 as source_line,
        cast(null as string) as raw_record,
        cast(null as string) as record_error,
        {%- for column in spec.columns %}
        {%- if column in present %}
        {{ spark_parquet_column_text(column, present[column]) }} as {{ column }}
        {%- else %}
        cast(null as string) as {{ column }}
        {%- endif %}{{ ',' if not loop.last }}
        {%- endfor %}
    from parquet.{{ spark_usage_files_glob(group_files) }}
        {%- endset -%}
        {%- do parts.append(part) -%}
    {%- endfor -%}

    {%- for file in mismatched -%}
        {%- set part -%}
    select
        'parquet' as source_format,
        {{ usage_relative_path('_metadata.file_path') }} as source_file,
        _metadata.row_index + 1 as source_line,
        to_json(struct(*), map('ignoreNullFields', 'false')) as raw_record,
        'schema_mismatch' as record_error,
        {%- for column in spec.columns %}
        cast(null as string) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from parquet.{{ spark_usage_files_glob([file]) }}
        {%- endset -%}
        {%- do parts.append(part) -%}
    {%- endfor -%}
    {{- return(parts) -}}
{%- endmacro %}
