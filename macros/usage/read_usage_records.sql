{#
    One row per raw record of a usage stream: every non-blank line of its
    JSON Lines files (.jsonl, .jsonl.gz), every row of its Parquet files, and
    one record for each file that is not read (unsupported_format,
    unreadable_file, invalid_encoding), from the files of this run’s listing
    (stg_usage__files) that are new or changed.

    Columns: source_format, source_file (the path relative to usage_root),
    source_version (how many times the file was found rewritten, plus one),
    source_line (1-based line or row number; 0 for a file-level record),
    raw_record (the line’s text, bytes that are not UTF-8 written as \xNN;
    for Parquet, built later only for records that are rejected),
    record_error, then each contract column as text, then <column>_value
    for occurred_at and the quantities: the value of a typed Parquet column
    that passed its check (its text is then null, except for decimals and
    instants without a zone; see parquet_typed_value), else null.

    record_error, first that applies: the file’s problem; invalid_encoding
    (a line that is not UTF-8, every line of a UTF-16 file); incomplete_line
    (the last line of a file, without a newline, that is not a JSON object:
    still being written, kept pending); malformed_record (not a JSON
    object); ambiguous_record (a key repeated); invalid_event_id /
    invalid_tenant_id (not a string or an integer); schema_mismatch (every
    row of a Parquet file whose columns do not fit the contract).

    JSON values are taken as written: a string’s text, an integer’s digits,
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

    {#- records read as text only: no typed values -#}
    {%- set text_parts = [] -%}
    {%- if by_kind['problem'] -%}
        {%- do text_parts.append(usage_file_records(spec, by_kind['problem'])) -%}
    {%- endif -%}
    {%- if by_kind['jsonl'] -%}
        {%- do text_parts.append(adapter.dispatch('read_usage_jsonl', 'agent_billing')(
            spec, by_kind['jsonl']
        )) -%}
    {%- endif -%}
    {%- if by_kind['jsonl.gz'] -%}
        {%- do text_parts.append(adapter.dispatch('read_usage_jsonl_gz', 'agent_billing')(
            spec, by_kind['jsonl.gz']
        )) -%}
    {%- endif -%}
    {%- for text_part in text_parts -%}
        {%- set part -%}
    select
        text_records.*,
        {{- usage_value_nulls(spec) }}
    from (
        {{ text_part }}
    ) as text_records
        {%- endset -%}
        {%- do parts.append(part) -%}
    {%- endfor -%}
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
        read.{{ column }},
        {%- endfor %}
        {%- for column in spec.value_types %}
        read.{{ column }}_value{{ ',' if not loop.last }}
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
        cast(null as string) as {{ column }},
        {%- endfor %}
        {{- usage_value_nulls(spec) }}
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
    is_utf16) rows, where content is a whole file’s text when it is UTF-8
    (is_text) and else its bytes with every byte outside printable ASCII
    written \xNN (how DuckDB and this macro’s Spark twin render bytes), one
    row per non-blank line: source_line, raw_record, is_valid_text, is_last
    (the file’s last line, not ended by a newline).
-#}


{#- The record’s fields from its text: shared by both engines’ readers. -#}
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
