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
    {{- return(spec) -}}
{%- endmacro %}


{#- Which Parquet column types fit a contract column (DuckDB type names). -#}
{% macro parquet_type_fits(column, duckdb_type) -%}
    {%- set type_name = duckdb_type | upper -%}
    {%- set integer_types = [
        'TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT',
        'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT', 'UHUGEINT',
    ] -%}
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
