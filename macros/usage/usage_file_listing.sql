{#
    The usage files of a run: the listing taken when it starts
    (staging.stg_usage__files), and what the ledger knew of them before.
#}

{#-
    Every file under usage_root/{llm,asr,tts}/ now, as dicts: stream,
    source_file (the path relative to usage_root), file_path (the path the
    engine reads), file_format (jsonl, jsonl.gz, parquet or none), file_size,
    last_modified (UTC, as listing_time_text writes it) and file_problem
    (unsupported_format, unreadable_file, invalid_encoding or none).
-#}
{% macro usage_file_listing_rows() -%}
    {{ return(adapter.dispatch('usage_file_listing_rows', 'agent_billing')()) }}
{%- endmacro %}

{#- DuckDB: the Python model stg_usage__file_listing walked the folders. -#}
{% macro duckdb__usage_file_listing_rows() -%}
    {%- set listing = ref('stg_usage__file_listing') -%}
    {%- if not execute or adapter.get_relation(
        database=listing.database, schema=listing.schema, identifier=listing.identifier
    ) is none -%}
        {{- return([]) -}}
    {%- endif -%}
    {%- set result = run_query(
        "select stream, source_file, file_path, file_format, file_size, "
        ~ listing_time_text('last_modified') ~ ", file_problem from " ~ listing
        ~ " order by stream, source_file"
    ) -%}
    {%- set rows = [] -%}
    {%- for row in result.rows -%}
        {%- do rows.append({
            'stream': row[0], 'source_file': row[1], 'file_path': row[2],
            'file_format': row[3], 'file_size': row[4], 'last_modified': row[5],
            'file_problem': row[6],
        }) -%}
    {%- endfor -%}
    {{- return(rows) -}}
{%- endmacro %}


{#- A file’s path relative to usage_root: its identity in the ledger. -#}
{% macro usage_relative_path(path_sql) -%}
    {{ return(adapter.dispatch('usage_relative_path', 'agent_billing')(path_sql)) }}
{%- endmacro %}

{% macro default__usage_relative_path(path_sql) -%}
    {%- set root_length = (usage_root() | replace("''", "'") | length) + 1 -%}
    substr({{ path_sql }}, {{ root_length + 1 }})
{%- endmacro %}

{% macro spark__usage_relative_path(path_sql) -%}
    substr({{ path_sql }}, {{ spark_qualified_usage_root() | length + 2 }})
{%- endmacro %}


{#- A timestamp as text to the microsecond, UTC: how listings are compared. -#}
{% macro listing_time_text(column) -%}
    {{ return(adapter.dispatch('listing_time_text', 'agent_billing')(column)) }}
{%- endmacro %}

{% macro default__listing_time_text(column) -%}
    strftime(cast({{ column }} as timestamp), '%Y-%m-%d %H:%M:%S.%f')
{%- endmacro %}

{% macro spark__listing_time_text(column) -%}
    date_format({{ column }}, 'yyyy-MM-dd HH:mm:ss.SSSSSS')
{%- endmacro %}


{#- A file name that DuckDB’s readers match as itself (no pattern). -#}
{% macro duckdb_path_literal(path) -%}
    {%- set escaped = namespace(text='') -%}
    {%- for character in path -%}
        {%- set escaped.text = escaped.text
            ~ ('[' ~ character ~ ']' if character in '[*?{' else character) -%}
    {%- endfor -%}
    {{- return(escaped.text) -}}
{%- endmacro %}

{% macro duckdb_path_list(paths) -%}
    {%- set literals = [] -%}
    {%- for path in paths -%}
        {%- do literals.append(duckdb_path_literal(path)) -%}
    {%- endfor -%}
    {{- sql_string_list(literals) -}}
{%- endmacro %}


{#-
    usage_root as Spark writes the paths it lists: file:/absolute/path for
    a local folder (a relative root is resolved from the JVM’s working
    directory, as Spark does), or the root as given when it has a scheme
    (s3a://, abfss://, hdfs://).
-#}
{% macro spark_qualified_usage_root() -%}
    {%- set root = usage_root() | replace("''", "'") -%}
    {%- if modules.re.match('[A-Za-z][A-Za-z0-9+.-]*:', root) -%}
        {{- return(root.rstrip('/')) -}}
    {%- endif -%}
    {%- if not root.startswith('/') -%}
        {%- set cwd = run_query(
            "select reflect('java.lang.System', 'getProperty', 'user.dir')"
        ).columns[0].values()[0] -%}
        {%- set root = cwd ~ '/' ~ root -%}
    {%- endif -%}
    {%- set parts = [] -%}
    {%- for part in root.split('/') -%}
        {%- if part == '..' -%}
            {%- if parts -%}{%- do parts.pop() -%}{%- endif -%}
        {%- elif part not in ('', '.') -%}
            {%- do parts.append(part) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return('file:/' ~ (parts | join('/'))) -}}
{%- endmacro %}


{#-
    Spark lists the files with its binaryFile source (contents are not read;
    names starting with "." or "_" are skipped, as on DuckDB). A root with
    none of llm/, asr/, tts/ fails here with Spark’s PATH_NOT_FOUND, naming
    the path. Parquet and gzip files new or changed since the ledger saw
    them are checked for their magic bytes.
-#}
{% macro spark__usage_file_listing_rows() -%}
    {%- if not execute -%}
        {{- return([]) -}}
    {%- endif -%}
    {%- set root = spark_qualified_usage_root() -%}
    {%- set files_view = 'agent_billing_usage_files' -%}
    {% do run_query(
        "create or replace temporary view " ~ files_view
        ~ " using binaryFile options (path '"
        ~ (root | replace("'", "\\'")) ~ "/{llm,asr,tts}',"
        ~ " recursiveFileLookup 'true')"
    ) %}
    {%- set result = run_query(
        "select path, length, " ~ listing_time_text('modificationTime') ~ " from "
        ~ files_view ~ " order by path"
    ) -%}
    {%- set previous = previous_usage_files() -%}
    {%- set rows = [] -%}
    {%- set to_check = [] -%}
    {%- for row in result.rows -%}
        {%- set relative = row[0][root | length + 1:] -%}
        {%- set lower = relative | lower -%}
        {%- set found = namespace(format=none) -%}
        {%- for extension in ['jsonl.gz', 'jsonl', 'parquet'] -%}
            {%- if found.format is none and lower.endswith('.' ~ extension) -%}
                {%- set found.format = extension -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set file_format = found.format -%}
        {%- set entry = {
            'stream': relative.split('/')[0], 'source_file': relative,
            'file_path': row[0], 'file_format': file_format,
            'file_size': row[1], 'last_modified': row[2],
            'file_problem': none if file_format else 'unsupported_format',
        } -%}
        {%- set seen = previous.get((entry.stream, relative)) -%}
        {%- if file_format in ('parquet', 'jsonl.gz')
            and (seen is none or seen.file_size != entry.file_size
                or seen.last_modified != entry.last_modified) -%}
            {%- do to_check.append(entry) -%}
        {%- endif -%}
        {%- do rows.append(entry) -%}
    {%- endfor -%}
    {%- if to_check -%}
        {%- set paths = [] -%}
        {%- for entry in to_check -%}
            {%- do paths.append(entry.file_path) -%}
        {%- endfor -%}
        {%- set heads = run_query(
            "select path, hex(substring(content, 1, 4)), hex(substring(content, -4, 4))"
            ~ " from binaryFile." ~ spark_usage_files_glob(paths)
        ) -%}
        {%- set magic = {} -%}
        {%- for row in heads.rows -%}
            {%- do magic.update({row[0]: (row[1], row[2])}) -%}
        {%- endfor -%}
        {%- for entry in to_check -%}
            {%- set found = magic.get(entry.file_path, ('', '')) -%}
            {%- if entry.file_format == 'parquet' and (entry.file_size < 12
                or found[0] != '50415231' or found[1] != '50415231') -%}
                {%- do entry.update({'file_problem': 'unreadable_file'}) -%}
            {%- elif entry.file_format == 'jsonl.gz' and not found[0].startswith('1F8B') -%}
                {%- do entry.update({'file_problem': 'unreadable_file'}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(rows) -}}
{%- endmacro %}
