{#
    One row per raw record of a usage stream: every non-blank line of its
    JSON Lines files and every row of its Parquet files under usage_root.

    Columns: source_format, source_file (the path relative to usage_root, so
    that a record keeps its identity however the root is spelled or moved),
    source_line (1-based line or row
    number), raw_record (the line's text; for Parquet, built later only for
    records that are rejected), record_error (malformed_record for a line that
    is not a JSON object, schema_mismatch for every row of a Parquet file whose
    columns do not fit the contract), then each contract column as text.

    Nothing is read with ignore_errors: a bad line is a row with its error, and
    a stream with no files yields no rows (DuckDB fails on an empty glob, so
    the files are listed first).
#}
{% macro read_usage_records(stream) -%}
    {%- set spec = usage_stream_spec(stream) -%}
    {%- set parts = [] -%}

    {%- set jsonl_files = usage_files_to_read(stream, 'jsonl') -%}
    {%- if jsonl_files -%}
        {%- do parts.append(adapter.dispatch('read_usage_jsonl', 'agent_billing')(
            spec, jsonl_files
        )) -%}
    {%- endif -%}

    {%- set parquet_files = usage_files_to_read(stream, 'parquet') -%}
    {%- if parquet_files -%}
        {%- for part in adapter.dispatch('read_usage_parquet', 'agent_billing')(
            spec, parquet_files
        ) -%}
            {%- do parts.append(part) -%}
        {%- endfor -%}
    {%- endif -%}

    {%- if not parts -%}
        {%- do parts.append(usage_records_empty(spec)) -%}
    {%- endif -%}

    {{ parts | join('\nunion all\n') }}
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


{% macro duckdb__read_usage_jsonl(spec, files) -%}
    {%- set json_structure -%}
        {
        {%- for column in spec.columns -%}
            "{{ column }}": "VARCHAR"{{ ', ' if not loop.last }}
        {%- endfor -%}
        }
    {%- endset -%}
    select
        'jsonl' as source_format,
        source_file,
        source_line,
        raw_record,
        case when not is_object then 'malformed_record' end as record_error,
        {%- for column in spec.columns %}
        fields.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (
        select
            source_file,
            source_line,
            raw_record,
            -- json_type and from_json fail on text that is not JSON, and
            -- DuckDB evaluates both sides of an "and": guard the argument
            json_type(
                case when json_valid(raw_record) then raw_record else 'null' end
            ) = 'OBJECT' as is_object,
            from_json(
                case when is_object then raw_record else '{}' end,
                '{{ json_structure }}'
            ) as fields
        from (
            select
                source_file,
                rtrim(unnest(lines), chr(13)) as raw_record,
                unnest(range(1, len(lines) + 1)) as source_line
            from (
                select
                    {{ usage_relative_path('filename') }} as source_file,
                    string_split(content, chr(10)) as lines
                from read_text({{ sql_string_list(files) }})
            )
        )
        where trim(raw_record) <> ''
    )
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
        ~ " from parquet_schema(" ~ sql_string_list(files) ~ ")"
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
        {{ sql_string_list(group_files) }},
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
        '{{ file | replace("'", "''") }}',
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
    {%- set json_schema -%}
        {%- for column in spec.columns -%}
            `{{ column }}` string{{ ', ' if not loop.last }}
        {%- endfor -%}
    {%- endset -%}
    {#- Spark's JSON reader would also take 'single-quoted' text; DuckDB's not. -#}
    {%- set options = "map('allowSingleQuotes', 'false')" -%}
    select
        'jsonl' as source_format,
        source_file,
        source_line,
        raw_record,
        case when not is_object then 'malformed_record' end as record_error,
        {%- for column in spec.columns %}
        case
            when is_object then {{ spark_number_text('fields.' ~ column) }}
        end as {{ column }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from (
        select
            source_file,
            source_line,
            raw_record,
            -- null for text that is not a JSON object; the parser stops at
            -- the object's end, so text after it is refused here
            coalesce(
                from_json(json_text, 'map<string, string>', {{ options }}) is not null
                and json_text rlike '\\}\\s*\\z',
                false
            ) as is_object,
            from_json(json_text, '{{ json_schema }}', {{ options }}) as fields
        from (
            select
                source_file,
                source_line,
                raw_record,
                -- DuckDB's parser accepts a comma before the closing brace
                regexp_replace(raw_record, ',\\s*(\\}\\s*)\\z', '$1') as json_text
            from (
                select
                    {{ usage_relative_path('path') }} as source_file,
                    line_number + 1 as source_line,
                    trim(trailing char(13) from line) as raw_record
                from binaryFile.{{ spark_usage_files_glob(files) }}
                lateral view posexplode(
                    split(cast(content as string), char(10))
                ) lines as line_number, line
            )
        )
        where trim(raw_record) <> ''
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
