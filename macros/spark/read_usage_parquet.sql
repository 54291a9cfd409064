{# Reading Parquet usage files on Spark: typed columns, checked against the contract. #}

{#- Spark’s type names, as the DuckDB names parquet_type_fits knows. -#}
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
    timestamp adjusted to UTC) gets DuckDB’s +00 offset, a local timestamp
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
    A double’s text as DuckDB writes it (the shortest digits, like Python’s
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
        {{ spark_parquet_column_text(column, present[column]) }} as {{ column }},
        {%- else %}
        cast(null as string) as {{ column }},
        {%- endif %}
        {%- endfor %}
        {{- usage_value_nulls(spec) }}
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
        cast(null as string) as {{ column }},
        {%- endfor %}
        {{- usage_value_nulls(spec) }}
    from parquet.{{ spark_usage_files_glob([file]) }}
        {%- endset -%}
        {%- do parts.append(part) -%}
    {%- endfor -%}
    {{- return(parts) -}}
{%- endmacro %}
