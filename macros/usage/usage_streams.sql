{#
    The contract’s raw usage streams: the columns each file must carry, and
    what a Parquet column’s type may be for its value to be read as text.
#}
{% macro usage_stream_spec(stream) -%}
    {%- set specs = {
        'llm': {'item': 'model', 'quantities': ['input_tokens', 'output_tokens']},
        'asr': {'item': 'vendor', 'quantities': ['audio_seconds']},
        'tts': {'item': 'vendor', 'quantities': ['characters']},
    } -%}
    {%- if stream not in specs -%}
        {{ exceptions.raise_compiler_error("Unknown usage stream '" ~ stream ~ "'") }}
    {%- endif -%}
    {%- set spec = specs[stream] -%}
    {%- set _ = spec.update({
        'columns': ['event_id', 'tenant_id', 'agent_id', 'occurred_at', spec['item']]
            + spec['quantities'],
        'optional': ['agent_id'],
    }) -%}
    {#- Columns a typed Parquet value is taken in as it is (see
        parquet_typed_value): the column, then the type it is read as. -#}
    {%- set value_types = {'occurred_at': type_instant()} -%}
    {%- for quantity in spec['quantities'] -%}
        {%- do value_types.update({
            quantity: 'decimal(38, 6)' if quantity == 'audio_seconds' else 'bigint'
        }) -%}
    {%- endfor -%}
    {%- set _ = spec.update({'value_types': value_types}) -%}
    {{- return(spec) -}}
{%- endmacro %}


{#- The whole-number types of Parquet columns (DuckDB type names). -#}
{% macro parquet_integer_types() -%}
    {{- return([
        'TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT',
        'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT',
    ]) -}}
{%- endmacro %}


{#- Which Parquet column types fit a contract column (DuckDB type names). -#}
{% macro parquet_type_fits(column, duckdb_type) -%}
    {%- set type_name = duckdb_type | upper -%}
    {%- set integer_types = parquet_integer_types() -%}
    {%- if column == 'occurred_at' -%}
        {%- set fits = type_name == 'VARCHAR' or type_name.startswith('TIMESTAMP') -%}
    {%- elif column in ('input_tokens', 'output_tokens', 'characters', 'audio_seconds') -%}
        {%- set fits = type_name in integer_types + ['VARCHAR', 'DOUBLE', 'FLOAT']
            or type_name.startswith('DECIMAL') -%}
    {%- else -%}
        {%- set fits = type_name in integer_types + ['VARCHAR'] -%}
    {%- endif -%}
    {{- return(fits) -}}
{%- endmacro %}


{#-
    A Parquet column of a type that holds its value exactly (whole numbers
    and decimals for quantities; instants) is checked as a number or an
    instant, never parsed back from its text. Returns none when the column
    is read as text (doubles, whose text is what the contract checks; text
    columns; nanosecond instants), else:
      check        the condition under which the value is valid, by the
                   rules a JSON line’s text is checked by
                   (parse_usage_timestamp, is_whole_quantity,
                   is_audio_seconds);
      keeps_text   whether the text is still needed where the value is
                   valid: a rejected row shows its fields as received, and
                   the value read (bigint, decimal(38, 6), an instant with
                   offset) prints as the column did only for whole numbers
                   and instants with a zone. Elsewhere the text is printed
                   only where the check fails.
-#}
{% macro parquet_typed_value(column, duckdb_type) -%}
    {%- set type_name = duckdb_type | upper -%}
    {%- set quoted = adapter.quote(column) -%}
    {%- set is_integer = type_name in parquet_integer_types() -%}
    {%- set is_decimal = type_name.startswith('DECIMAL') -%}
    {%- set typed = {} -%}
    {%- if column in ('input_tokens', 'output_tokens', 'characters')
        and (is_integer or is_decimal) -%}
        {#- at most 18 digits, no fraction -#}
        {%- do typed.update({
            'check': quoted ~ ' >= 0 and ' ~ quoted ~ ' < 1000000000000000000'
                ~ (' and ' ~ quoted ~ ' = trunc(' ~ quoted ~ ')' if is_decimal else ''),
            'keeps_text': is_decimal,
        }) -%}
    {%- elif column == 'audio_seconds' and (is_integer or is_decimal) -%}
        {#- at most 9 digits before the point, 6 after it -#}
        {%- do typed.update({
            'check': quoted ~ ' >= 0 and ' ~ quoted ~ ' < 1000000000'
                ~ (' and ' ~ quoted ~ ' = round(' ~ quoted ~ ', 6)' if is_decimal else ''),
            'keeps_text': is_decimal,
        }) -%}
    {%- elif column == 'occurred_at' and type_name in (
        'TIMESTAMP WITH TIME ZONE', 'TIMESTAMP', 'TIMESTAMP_MS', 'TIMESTAMP_S'
    ) -%}
        {#- a four-digit year; no zone is UTC (the session zone) -#}
        {%- do typed.update({
            'check': 'isfinite(' ~ quoted ~ ') and year(' ~ quoted ~ ') between 1 and 9999',
            'keeps_text': type_name != 'TIMESTAMP WITH TIME ZONE',
        }) -%}
    {%- endif -%}
    {{- return(typed or none) -}}
{%- endmacro %}


{#- The typed value columns of a reader part that has none (all null). -#}
{% macro usage_value_nulls(spec) -%}
    {%- for column, value_type in spec.value_types.items() %}
    cast(null as {{ value_type }}) as {{ column }}_value{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{#- SQL that counts the usage files (by extension, any case) under root. -#}
{% macro usage_file_count_sql(root) -%}
    {%- set globs = [] -%}
    {%- for stream in ['llm', 'asr', 'tts'] -%}
        {%- do globs.append(
            "select file from glob('" ~ root ~ "/" ~ stream ~ "/**')"
        ) -%}
    {%- endfor -%}
    select count(*) from ({{ globs | join(' union all ') }})
    where regexp_matches(lower(file), '[.](jsonl|jsonl[.]gz|parquet)$')
{%- endmacro %}
