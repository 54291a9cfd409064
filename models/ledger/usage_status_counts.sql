{{ config(incremental_strategy='insert_overwrite') }}

{#-
    The files this run wrote ledger rows for, listed when the model runs
    (after usage_records). Filtering the ledger by a literal list happens in
    its scan (text_is_one_of); a join to a subquery of the ledger did not
    (after 31 days at make bench default scale, 87M records: 0.2 s against
    3 to 8 s).
-#}
{%- set has_state = ledger_has_state() -%}
{%- set records_state = ledger_state(ref('usage_records')) -%}
{%- set has_records = execute and records_state is not string
    and adapter.get_relation(
        database=records_state.database,
        schema=records_state.schema,
        identifier=records_state.identifier,
    ) is not none -%}
{#- Counted again: the files this run wrote ledger rows for, and the files
    present again after a run that did not list them (no counts kept). -#}
{%- set files_written = [] -%}
{%- if execute and has_state -%}
    {%- set written = run_query(
        "select distinct source_file from " ~ ref('usage_records')
        ~ " union select present.source_file from " ~ ref('stg_usage__files')
        ~ " as present where not exists (select 1 from " ~ ledger_state()
        ~ " as counted where counted.stream = present.stream"
        ~ " and counted.source_file = present.source_file)"
    ) -%}
    {%- set files_written = written.columns[0].values() | list -%}
{%- endif %}

{#
    One row per usage file under usage_root at this run: how many raw
    records it holds (usage_files) and how many of them the ledger holds in
    each status once this run is committed. What the reconciliation adds up,
    and what the marts of rejected and unpriced usage take as the files
    present. Rebuilt whole on each run, but counted again only for the
    files this run wrote ledger rows for (new lines, carried-over records
    classified again) and those back under usage_root after a run that did
    not list them; the counts of the other files are those of the last run.
#}
with files_present as (
    select * from {{ ref('stg_usage__files') }}
),

run_files as (
    select * from {{ ref('usage_files') }}
),

run_records as (
    select * from {{ ref('usage_records') }}
),

{% if has_state %}
earlier_counts as (
    select * from {{ ledger_state() }}
),
{% endif %}

{% if has_records %}
earlier_files as (
    select * from {{ ledger_state(ref('usage_files')) }}
),
{% endif %}

{% if has_records %}
{#-
    The ledger rows of the files written, as they are once committed: of
    every file when there are no counts yet (a warehouse from before them).
-#}
records_written as (
    select
        earlier.stream,
        earlier.source_file,
        earlier.status
    from {{ records_state }} as earlier
    where
        {%- if not has_state %}
        true
        {%- elif files_written %}
        -- source_file starts with the stream folder: it names the file alone
        {{ text_is_one_of('earlier.source_file', files_written) }}
        {%- else %}
        false
        {%- endif %}
        and not exists (
            select 1
            from run_records
            where
                run_records.stream = earlier.stream
                and run_records.source_file = earlier.source_file
                and run_records.source_version = earlier.source_version
                and run_records.source_line = earlier.source_line
        )

    union all

    select
        stream,
        source_file,
        status
    from run_records
),
{% else %}
records_written as (
    select
        stream,
        source_file,
        status
    from run_records
),
{% endif %}

counted as (
    select
        stream,
        source_file,
        count(*) filter (where status = 'billed') as billed_events,
        count(*) filter (where status = 'duplicate') as duplicate_events,
        count(*) filter (where status = 'unpriced') as unpriced_events,
        count(*) filter (where status = 'rejected') as rejected_events,
        count(*) filter (where status = 'pending') as pending_events
    from records_written
    group by stream, source_file
),

final as (
    select
        files_present.stream,
        files_present.source_file,
        cast(coalesce(
            run_files.raw_records,
            {{- ' earlier_files.raw_records,' if has_records }} 0
        ) as bigint) as raw_records,
        {%- for column in [
            'billed_events', 'duplicate_events', 'unpriced_events',
            'rejected_events', 'pending_events'
        ] %}
        cast(coalesce(
            counted.{{ column }},
            {{- ' earlier_counts.' ~ column ~ ',' if has_state }} 0
        ) as bigint) as {{ column }},
        {%- endfor %}
        {#- what the publish compares to update only the files that changed -#}
        {%- if has_state %}
        case
            when counted.source_file is not null then '{{ billing_run_id() }}'
            else earlier_counts.billing_run_id
        end as billing_run_id
        {%- else %}
        '{{ billing_run_id() }}' as billing_run_id
        {%- endif %}
    from files_present
    left join run_files
        on
            files_present.stream = run_files.stream
            and files_present.source_file = run_files.source_file
    left join counted
        on
            files_present.stream = counted.stream
            and files_present.source_file = counted.source_file
    {%- if has_records %}
    left join earlier_files
        on
            files_present.stream = earlier_files.stream
            and files_present.source_file = earlier_files.source_file
    {%- endif %}
    {%- if has_state %}
    left join earlier_counts
        on
            files_present.stream = earlier_counts.stream
            and files_present.source_file = earlier_counts.source_file
    {%- endif %}
)

select * from final
