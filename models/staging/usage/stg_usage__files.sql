{#
    The run’s listing of usage files: one row per file under
    usage_root/{llm,asr,tts}/, taken once, when the run starts (this model
    runs first; every model that reads usage reads exactly the files listed
    here, by path). A file that lands later waits for the next run.

    Compared with ledger.usage_files as the last run left it (looked up by
    name, not ref: the ledger is built from this model): is_read_this_run for
    a file that is new or whose size or modification time changed, and
    read_mode for those:
      - new        never read before: source_version 1;
      - appended   a JSON Lines file whose first bytes are the bytes read
                   last time (same md5): its new lines are read, the lines
                   already in the ledger are not classified again;
      - rewritten  anything else (a Parquet file changed, a text file cut
                   short or changed in place): its content is read whole
                   as a new source_version, and classified by the usual
                   rules (a copy of a billed event is a duplicate).
    content_hash is the md5 of the bytes read (JSON Lines files), what the
    next change is compared with.
#}
-- noqa: disable=LT02,AL05
{%- set listing = usage_file_listing_rows() %}
{%- set previous = previous_usage_files() %}
{%- set text_files_read = [] %}
{%- for entry in listing %}
    {%- set seen = previous.get((entry.stream, entry.source_file)) %}
    {%- if entry.file_problem is none and entry.file_format in ('jsonl', 'jsonl.gz')
        and (seen is none or seen.file_size != entry.file_size
            or seen.last_modified != entry.last_modified) %}
        {%- do text_files_read.append(entry) %}
    {%- endif %}
{%- endfor %}

with listing as (
    {%- if listing %}
    select *
    from (
        values
        {%- for entry in listing %}
            (
                '{{ entry.stream }}',
                '{{ entry.source_file | replace("'", "''") }}',
                '{{ entry.file_path | replace("'", "''") }}',
                {{ "'" ~ entry.file_format ~ "'" if entry.file_format else 'null' }},
                {{ entry.file_size }},
                '{{ entry.last_modified }}',
                {{ "'" ~ entry.file_problem ~ "'" if entry.file_problem else 'null' }}
            ){{ ',' if not loop.last }}
        {%- endfor %}
    ) as files (
        stream, source_file, file_path, file_format, file_size, last_modified,
        file_problem
    )
    {%- else %}
    select
        cast(null as string) as stream,
        cast(null as string) as source_file,
        cast(null as string) as file_path,
        cast(null as string) as file_format,
        cast(null as bigint) as file_size,
        cast(null as string) as last_modified,
        cast(null as string) as file_problem
    where false
    {%- endif %}
),

previous as (
    {%- if previous %}
    {#- a ledger written before files had versions lacks the newer columns -#}
    {%- set known_columns = [] %}
    {%- for column in adapter.get_columns_in_relation(previous_usage_files_relation()) %}
        {%- do known_columns.append(column.name | lower) %}
    {%- endfor %}
    select
        stream,
        source_file,
        file_size,
        {{ listing_time_text('last_modified') }} as last_modified,
        {{ 'content_hash' if 'content_hash' in known_columns
            else 'cast(null as string)' }} as content_hash,
        {{ 'coalesce(source_version, 1)' if 'source_version' in known_columns
            else '1' }} as source_version,
        raw_records,
        {{ 'coalesce(version_records, raw_records)' if 'version_records' in known_columns
            else 'raw_records' }} as version_records
    from {{ previous_usage_files_relation() }}
    {%- else %}
    select
        cast(null as string) as stream,
        cast(null as string) as source_file,
        cast(null as bigint) as file_size,
        cast(null as string) as last_modified,
        cast(null as string) as content_hash,
        cast(null as int) as source_version,
        cast(null as bigint) as raw_records,
        cast(null as bigint) as version_records
    where false
    {%- endif %}
),

{# The bytes of the text files read this run, hashed whole and up to the
    size read last time (what an appended file starts with). #}
text_hashes as (
    {{ usage_text_file_hashes(text_files_read, previous) }}
),

compared as (
    select
        listing.stream,
        listing.source_file,
        listing.file_path,
        listing.file_format,
        listing.file_size,
        cast(listing.last_modified as {{ type_instant() }}) as last_modified,
        listing.file_problem,
        previous.source_file is null
        or previous.file_size <> listing.file_size
        or previous.last_modified <> listing.last_modified as is_read_this_run,
        previous.source_file is not null as was_read_before,
        previous.source_version as previous_version,
        previous.raw_records as previous_raw_records,
        previous.version_records as previous_version_records,
        previous.content_hash as previous_content_hash,
        text_hashes.content_hash,
        text_hashes.previous_prefix_hash
    from listing
    left join previous
        on
            listing.stream = previous.stream
            and listing.source_file = previous.source_file
    left join text_hashes
        on listing.file_path = text_hashes.file_path
),

flagged as (
    select
        *,
        -- its earlier bytes are unchanged: a text file with lines appended
        coalesce(
            was_read_before
            and file_problem is null
            and file_format in ('jsonl', 'jsonl.gz')
            and (
                previous_content_hash is null
                or previous_prefix_hash = previous_content_hash
            ),
            false
        ) as has_same_start
    from compared
),

final as (
    select
        stream,
        source_file,
        file_path,
        file_format,
        file_size,
        last_modified,
        file_problem,
        is_read_this_run,
        case
            when not is_read_this_run then null
            when not was_read_before then 'new'
            when has_same_start then 'appended'
            else 'rewritten'
        end as read_mode,
        case
            when not was_read_before then 1
            when is_read_this_run and not has_same_start
                then previous_version + 1
            else previous_version
        end as source_version,
        previous_raw_records,
        previous_version_records,
        coalesce(
            content_hash,
            case when not is_read_this_run then previous_content_hash end
        ) as content_hash
    from flagged
)

select * from final
