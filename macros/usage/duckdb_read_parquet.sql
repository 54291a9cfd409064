{# Reading Parquet usage files on DuckDB: typed columns, checked against the contract. #}

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
    Parquet files are read natively, one read per distinct fitting schema. A
    column of a type that holds its value exactly is checked as it is and
    given as <column>_value (parquet_typed_value); any other is rendered as
    text, checked by the rules of a JSON line’s text. Files that do
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
        {%- set typed_columns = {} %}
        {%- for column in spec.columns if column in present %}
        {%- do typed_columns.update(
            {column: parquet_typed_value(column, present[column])}
        ) %}
        {%- endfor %}
        {%- for column in spec.columns %}
        {%- set typed = typed_columns.get(column) %}
        {%- if typed and not typed.keeps_text %}
        {#- the text only where the value fails its check #}
        case
            when not ({{ typed.check }})
                then cast({{ adapter.quote(column) }} as string)
        end as {{ column }},
        {%- elif column in present %}
        cast({{ adapter.quote(column) }} as string) as {{ column }},
        {%- else %}
        cast(null as string) as {{ column }},
        {%- endif %}
        {%- endfor %}
        {%- for column, value_type in spec.value_types.items() %}
        {%- set typed = typed_columns.get(column) %}
        {%- if typed %}
        case
            when {{ typed.check }}
                then cast({{ adapter.quote(column) }} as {{ value_type }})
        end as {{ column }}_value
        {%- else %}
        cast(null as {{ value_type }}) as {{ column }}_value
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
        cast(null as string) as {{ column }},
        {%- endfor %}
        {{- usage_value_nulls(spec) }}
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
