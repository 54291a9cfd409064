{#
    Which usage files there are, and which of them a run has to read.

    The ledger (ledger.usage_files) remembers every file read, with its size
    and modification time. A run reads only the files that are new or have
    changed since (a file that grew gets its new lines billed; lines already
    in the ledger are never billed twice), so its cost follows the new data,
    not the history kept under usage_root.
#}

{#- A file's path relative to usage_root: its identity in the ledger. -#}
{% macro usage_relative_path(path_sql) -%}
    {{ return(adapter.dispatch('usage_relative_path', 'agent_billing')(path_sql)) }}
{%- endmacro %}

{% macro default__usage_relative_path(path_sql) -%}
    {%- set root_length = (usage_root() | replace("''", "'") | length) + 1 -%}
    substr({{ path_sql }}, {{ root_length + 1 }})
{%- endmacro %}


{#-
    Every usage file under usage_root now: dicts of stream, file (the path to
    read), relative (the path relative to usage_root), size and modified.
-#}
{% macro usage_file_listing() -%}
    {{ return(adapter.dispatch('usage_file_listing', 'agent_billing')()) }}
{%- endmacro %}

{% macro default__usage_file_listing() -%}
    {%- if not execute -%}
        {{- return([]) -}}
    {%- endif -%}
    {%- set files = [] -%}
    {%- for stream in ['llm', 'asr', 'tts'] -%}
        {%- for extension in ['jsonl', 'parquet'] -%}
            {%- for file in usage_files(stream, extension) -%}
                {%- do files.append(file) -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if not files -%}
        {{- return([]) -}}
    {%- endif -%}
    {%- set result = run_query(
        "select filename, size, cast(last_modified as string) from read_blob("
        ~ sql_string_list(files) ~ ") order by filename"
    ) -%}
    {%- set listing = [] -%}
    {%- set root_length = (usage_root() | replace("''", "'") | length) + 1 -%}
    {%- for row in result.rows -%}
        {%- do listing.append({
            'stream': row[0][root_length:].split('/')[0],
            'file': row[0],
            'relative': row[0][root_length:],
            'size': row[1],
            'modified': row[2],
        }) -%}
    {%- endfor -%}
    {{- return(listing) -}}
{%- endmacro %}


{#-
    usage_root as Spark writes the paths it lists: file:/absolute/path for
    a local folder (a relative root is resolved from the JVM's working
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

{% macro spark__usage_relative_path(path_sql) -%}
    substr({{ path_sql }}, {{ spark_qualified_usage_root() | length + 2 }})
{%- endmacro %}


{#-
    Spark lists the files with the binaryFile source (contents are not
    read). A root with none of llm/, asr/, tts/ fails here with Spark's
    PATH_NOT_FOUND, naming the path.
-#}
{% macro spark__usage_file_listing() -%}
    {%- if not execute -%}
        {{- return([]) -}}
    {%- endif -%}
    {%- set root = spark_qualified_usage_root() -%}
    {%- set files_view = 'agent_billing_usage_files' -%}
    {% do run_query(
        "create or replace temporary view " ~ files_view
        ~ " using binaryFile options (path '"
        ~ (root | replace("'", "\\'")) ~ "/{llm,asr,tts}',"
        ~ " recursiveFileLookup 'true', pathGlobFilter '*.{jsonl,parquet}')"
    ) %}
    {%- set result = run_query(
        "select path, length, cast(modificationTime as string) from "
        ~ files_view ~ " order by path"
    ) -%}
    {%- set listing = [] -%}
    {%- for row in result.rows -%}
        {%- set relative = row[0][root | length + 1:] -%}
        {%- do listing.append({
            'stream': relative.split('/')[0],
            'file': row[0],
            'relative': relative,
            'size': row[1],
            'modified': row[2],
        }) -%}
    {%- endfor -%}
    {{- return(listing) -}}
{%- endmacro %}


{#- The files of the ledger: {relative path: (size, modified)}; empty at first. -#}
{% macro usage_files_already_read() -%}
    {%- if not execute -%}
        {{- return({}) -}}
    {%- endif -%}
    {%- set relation = adapter.get_relation(
        database=target.database, schema='ledger', identifier='usage_files'
    ) -%}
    {%- if relation is none -%}
        {{- return({}) -}}
    {%- endif -%}
    {%- set result = run_query(
        "select source_file, file_size, cast(last_modified as string) from " ~ relation
    ) -%}
    {%- set known = {} -%}
    {%- for row in result.rows -%}
        {%- do known.update({row[0]: (row[1], row[2])}) -%}
    {%- endfor -%}
    {{- return(known) -}}
{%- endmacro %}


{#- The listing, each file flagged with whether this run reads it. -#}
{% macro usage_files_with_read_flag() -%}
    {%- set known = usage_files_already_read() -%}
    {%- set flagged = [] -%}
    {%- for entry in usage_file_listing() -%}
        {%- set seen = known.get(entry.relative) -%}
        {%- set changed = seen is none
            or seen[0] != entry.size or seen[1] != entry.modified -%}
        {%- set item = {'is_read': changed} -%}
        {%- do item.update(entry) -%}
        {%- do flagged.append(item) -%}
    {%- endfor -%}
    {{- return(flagged) -}}
{%- endmacro %}


{#- The files of one stream and format that this run reads, sorted by path. -#}
{% macro usage_files_to_read(stream, extension) -%}
    {%- set files = [] -%}
    {%- for entry in usage_files_with_read_flag() -%}
        {%- if entry.stream == stream and entry.is_read
            and entry.file.endswith('.' ~ extension) -%}
            {%- do files.append(entry.file) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(files | sort) -}}
{%- endmacro %}


{#- Files read before (relative paths) that this run reads again: they changed. -#}
{% macro usage_files_read_again() -%}
    {%- set known = usage_files_already_read() -%}
    {%- set files = [] -%}
    {%- for entry in usage_files_with_read_flag() -%}
        {%- if entry.is_read and entry.relative in known -%}
            {%- do files.append(entry.relative) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(files | sort) -}}
{%- endmacro %}
