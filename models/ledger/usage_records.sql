{#- Only open records are ever replaced, so the commit deletes among those
    only (see macros/ledger/commit_billing_run.sql). -#}
{{ config(
    incremental_strategy='delete+insert',
    unique_key=['stream', 'source_file', 'source_version', 'source_line'],
    incremental_predicates=[
        "DBT_INCREMENTAL_TARGET.status in ('pending', 'unpriced')"
    ],
    pre_hook=[
        "{{ usage_records_add_source_version() }}",
        "{{ usage_records_add_event_key() }}",
    ],
) }}

-- depends_on: {{ ref('stg_usage__files') }}

{#
    The ledger: one row per raw usage record ever read, with its current
    status (ledger.usage_records, kept across runs, never rebuilt: it is
    what makes billing exactly-once). This model builds the rows a run adds
    or replaces (audit.usage_records); they are committed into the ledger
    after a green build (materialized='ledger').

    Each run classifies only the records that can still change:
      - records not in the ledger yet (new files, new lines), and
      - open records of earlier runs, carried over: every pending one, and
        the unpriced ones when the price list or aliases changed
        (catalog_version) or when they have aged past the late window.
    Billed, duplicate and rejected records are final and never touched again.

    Status, in the contract’s order of precedence:
      0. pending      incomplete_line: the last line of a file, without a
                      newline, that is not a JSON object (its producer may
                      still be writing it). Read again when the file grows;
                      rejected as malformed_record once the file is gone,
                      rewritten, or unchanged since before the late window
      1. rejected     not a valid event (invalid_reason), or a copy of an
                      event_id whose payload differs from the first delivery
                      or from the billed record (conflicting_duplicate)
      2. duplicate    a copy of an event_id with the same payload
      3. rejected     beyond_late_window: usage_date more than
                      late_window_days before billing_date
      4. pending      usage_date after billing_date
      5. unpriced     unknown_model / unknown_vendor or no_price_in_force
      6. pending      priced late usage (its day was closed by an earlier
                      run) when this run closes no new day: it waits for a
                      run with a new billing_date (an unpriced one stays
                      unpriced, so that a rerun changes no count)
      7. billed       on the bill of its usage_date if this run closes that
                      day, else (late usage) on the bill of billing_date

    The first delivery of an event_id is the record billed (or left
    unpriced) by an earlier run, looked up within the late window only, else
    the earliest open record carried over, else the first new one in
    (source_file, source_version, source_line) order. The payload compared between copies is
    everything but the id: tenant, agent, instant, item (case and spaces
    ignored) and quantities (as numbers).

    Cost: nearly every id has one record. The order of deliveries is worked
    out only for the records whose id may have another record (a narrow
    count by event_key, a 64-bit hash of stream and id kept with each
    record, made exact below), and only those are
    compared with their first delivery; the other records are their id’s
    first and only delivery.
#}

{%- set has_state = ledger_has_state() -%}
{%- set cutoff_day =
    '(' ~ billing_date_literal() ~ ' - ' ~ late_window_days() ~ ')' -%}
{%- set last_closed = last_closed_day_literal() -%}
{%- set this_catalog_version = catalog_version_value(
    ref('int_catalog_version'),
    '(select this_catalog.catalog_version from this_catalog)'
) -%}
{#- What two copies of an event_id must agree on: all but the id. -#}
{%- set payload_columns = [
    'tenant_id', 'agent_id', 'occurred_at', 'item_key',
    'input_tokens', 'output_tokens', 'audio_seconds', 'characters',
] -%}
{%- set comparisons = [] -%}
{%- for column in payload_columns -%}
    {%- do comparisons.append(
        'resolved.' ~ column ~ '\n            is not distinct from first_deliveries.' ~ column
    ) -%}
{%- endfor -%}
{%- set same_payload = comparisons | join('\n            and ') %}

with read_records as {{ inline_cte() }} (
    select * from {{ ref('int_usage_events_unioned') }}
),

{% if has_state %}
usage_files as (
    select * from {{ ref('stg_usage__files') }}
),
{% endif %}

prices as (
    select * from {{ ref('int_prices_unioned') }}
),

catalog as (
    select distinct
        stream,
        catalog_item
    from prices
),

this_catalog as (
    select * from {{ ref('int_catalog_version') }}
),

price_coverage as (
    select * from {{ ref('int_price_coverage') }}
),

new_records as {{ inline_cte() }} (
    select
        read_records.stream,
        read_records.source_format,
        read_records.source_file,
        read_records.source_version,
        read_records.source_line,
        read_records.event_id,
        read_records.tenant_id,
        read_records.agent_id,
        read_records.occurred_at,
        read_records.usage_date,
        read_records.reported_item,
        read_records.item_key,
        read_records.input_tokens,
        read_records.output_tokens,
        read_records.audio_seconds,
        read_records.characters,
        read_records.invalid_reason,
        read_records.raw_record,
        false as is_carried_over
    from read_records
    {%- if has_state %}
    -- lines of appended files that the ledger already holds are not new
    -- (but an incomplete last line is read again: it may be whole now)
    where not exists (
        select 1
        from {{ ledger_state() }} as known
        inner join usage_files
            on
                known.stream = usage_files.stream
                and known.source_file = usage_files.source_file
                and usage_files.read_mode = 'appended'
        where
            known.stream = read_records.stream
            and known.source_file = read_records.source_file
            and known.source_version = read_records.source_version
            and known.source_line = read_records.source_line
            and known.reason is distinct from 'incomplete_line'
    )
    {%- endif %}
),

{% if has_state %}
{#-
    The open records of earlier runs to classify again: every pending one,
    and the unpriced ones reopened (by age, or by a new catalog version).
    One scan per case, each filter a plain comparison that DuckDB applies
    while it reads the ledger, so that the other columns are read only
    for the rows taken (one filter with an OR reads them for every
    unpriced record of the window first).
#}
reopened_records as (
    select *
    from {{ ledger_state() }}
    where status = 'pending'

    union all

    select *
    from {{ ledger_state() }}
    where
        status = 'unpriced'
        and usage_date < {{ cutoff_day }}

    union all

    select *
    from {{ ledger_state() }}
    where
        status = 'unpriced'
        and usage_date >= {{ cutoff_day }}
        and catalog_version is distinct from {{ this_catalog_version }}
),

carried_over as (
    select
        earlier.stream,
        earlier.source_format,
        earlier.source_file,
        earlier.source_version,
        earlier.source_line,
        earlier.event_id,
        earlier.tenant_id,
        earlier.agent_id,
        earlier.occurred_at,
        earlier.usage_date,
        earlier.reported_item,
        earlier.item_key,
        earlier.input_tokens,
        earlier.output_tokens,
        earlier.audio_seconds,
        earlier.characters,
        case
            when earlier.reason is distinct from 'incomplete_line' then null
            -- settled: its file is gone, rewritten, or unchanged since
            -- before the late window; the torn text is all there will be
            when
                usage_files.source_file is null
                or usage_files.read_mode = 'rewritten'
                or {{ billing_day('usage_files.last_modified') }} < {{ cutoff_day }}
                then 'malformed_record'
            else 'incomplete_line'
        end as invalid_reason,
        earlier.raw_record,
        true as is_carried_over
    from reopened_records as earlier
    left join usage_files
        on
            earlier.stream = usage_files.stream
            and earlier.source_file = usage_files.source_file
    where
        -- an incomplete line of an appended file is read again instead
        not (
            earlier.reason is not distinct from 'incomplete_line'
            and usage_files.read_mode is not distinct from 'appended'
        )
),

{% endif %}

candidates as {{ inline_cte() }} (
    select * from new_records
    {%- if has_state %}
    -- the same columns in the same order as new_records
    union all
    select * from carried_over
    {%- endif %}
),

{# Model ids as reported, to catalog models: see int_model_ids_resolved. #}
model_resolution as (
    select * from {{ ref('int_model_ids_resolved') }}
),

resolved as {{ inline_cte() }} (
    select
        candidates.*,
        candidates.invalid_reason is null as is_valid_event,
        {{ event_key('candidates.stream', 'candidates.event_id') }}
            as event_key,
        case
            when candidates.stream = 'llm'
                then
                    coalesce(
                        model_resolution.catalog_item, candidates.item_key
                    )
            else candidates.item_key
        end as catalog_item
    from candidates
    left join model_resolution
        on
            candidates.stream = 'llm'
            and candidates.item_key = model_resolution.item_key
),

{# Ids that may have several records here (by key: a superset). #}
possibly_repeated_ids as (
    select event_key
    from resolved
    where is_valid_event
    group by event_key
    having count(*) > 1
),

{%- if has_state %}

{#
    First deliveries of earlier runs that are not classified again: the
    billed records of the late window (a copy of one is never charged
    again) and the unpriced records left as they are. They are looked up
    in two steps, so that the cost of the lookup follows the narrow keys
    of the records of the window, not their ids and payloads: first the
    keys of the ids of this run found among them (materialized: a handful
    of keys), then those records whole.
#}
{%- set kept_first_delivery -%}
        earlier.usage_date >= {{ cutoff_day }}
        and (
            earlier.status = 'billed'
            or (
                earlier.status = 'unpriced'
                and earlier.catalog_version
                is not distinct from {{ this_catalog_version }}
            )
        )
{%- endset %}

delivered_before_keys as {{ materialized_cte() }} (
    select distinct {{ ledger_event_key('earlier') }} as event_key
    from {{ ledger_state() }} as earlier
    where
        {{ kept_first_delivery }}
        and {{ ledger_event_key('earlier') }} in (
            select resolved.event_key
            from resolved
            where resolved.is_valid_event
        )
),
{%- endif %}

-- noqa: disable=LT02
delivered_before as (
    {%- if has_state %}
    {#- a superset of the ids read here (by key): every use below joins
        on stream and event_id themselves #}
    select
        earlier.stream,
        earlier.event_id,
        {{ 'earlier.' ~ payload_columns | join(',\n        earlier.') }}
    from {{ ledger_state() }} as earlier
    where
        {{ kept_first_delivery }}
        and {{ ledger_event_key('earlier') }} in (
            select delivered_before_keys.event_key
            from delivered_before_keys
        )
    {%- else %}
    select
        cast(null as string) as stream,
        cast(null as string) as event_id,
        cast(null as string) as tenant_id,
        cast(null as string) as agent_id,
        cast(null as {{ type_instant() }}) as occurred_at,
        cast(null as string) as item_key,
        cast(null as bigint) as input_tokens,
        cast(null as bigint) as output_tokens,
        cast(null as decimal(38, 6)) as audio_seconds,
        cast(null as bigint) as characters
    where false
    {%- endif %}
),
-- noqa: enable=LT02

{#
    The valid records whose id another record of this run may have: their
    key repeats here. By key a superset, which is harmless: a record whose
    id has no other record is its own first delivery below. A plain lookup
    of a 64-bit key; a correlated EXISTS would first make every key read
    here distinct. A record whose id was delivered in an earlier run needs
    no place here: first_deliveries holds that delivery, joined on stream
    and event_id, and marks the record a copy.
#}
shared_id_records as (
    select
        resolved.stream,
        resolved.source_file,
        resolved.source_version,
        resolved.source_line,
        resolved.event_id,
        resolved.is_carried_over,
        {{ 'resolved.' ~ payload_columns | join(',\n        resolved.') }}
    from resolved
    where
        resolved.is_valid_event
        and resolved.event_key in (
            select possibly_repeated_ids.event_key
            from possibly_repeated_ids
        )
),

shared_id_deliveries as (
    select
        stream,
        source_file,
        source_version,
        source_line,
        event_id,
        {{ payload_columns | join(',\n        ') }},
        row_number() over (
            partition by stream, event_id
            order by
                is_carried_over desc, source_file asc, source_version asc,
                source_line asc
        ) as delivery_number
    from shared_id_records
),

{# The record each copy is compared with: its id’s first delivery. #}
first_deliveries as (
    select
        stream,
        event_id,
        true as was_delivered_before,
        {{ payload_columns | join(',\n        ') }}
    from delivered_before

    union all

    select
        stream,
        event_id,
        false as was_delivered_before,
        {{ payload_columns | join(',\n        ') }}
    from shared_id_deliveries
    where
        shared_id_deliveries.delivery_number = 1
        and not exists (
            select 1
            from delivered_before
            where
                delivered_before.stream = shared_id_deliveries.stream
                and delivered_before.event_id = shared_id_deliveries.event_id
        )
),

{# Coverage is looked up once per item and day, not once per event. #}
item_days as (
    select distinct
        stream,
        catalog_item,
        usage_date
    from resolved
    where is_valid_event
),

item_day_coverage as (
    select
        item_days.stream,
        item_days.catalog_item,
        item_days.usage_date,
        count(price_coverage.covered_from) > 0 as is_priced
    from item_days
    left join price_coverage
        on
            item_days.stream = price_coverage.stream
            and item_days.catalog_item = price_coverage.catalog_item
            and item_days.usage_date >= price_coverage.covered_from
            and (
                price_coverage.covered_to is null
                or item_days.usage_date < price_coverage.covered_to
            )
    group by
        item_days.stream,
        item_days.catalog_item,
        item_days.usage_date
),

flagged as (
    select
        resolved.*,
        resolved.is_valid_event
        and coalesce(
            shared_id_deliveries.delivery_number > 1
            or first_deliveries.was_delivered_before,
            false
        ) as is_copy,
        coalesce(
            {{ same_payload }},
            false
        ) as has_first_payload,
        resolved.usage_date < {{ cutoff_day }} as is_beyond_late_window,
        resolved.usage_date <= {{ last_closed }} as is_late,
        resolved.usage_date
        > {{ billing_date_literal() }} as is_after_billing_date,
        coalesce(
            resolved.usage_date <= {{ last_closed }}
            and {{ billing_date_literal() }} <= {{ last_closed }},
            false
        ) as is_waiting_for_a_new_day,
        case
            when catalog.catalog_item is null
                then
                    case
                        when resolved.stream = 'llm' then 'unknown_model'
                        else 'unknown_vendor'
                    end
            when not coalesce(item_day_coverage.is_priced, false)
                then 'no_price_in_force'
        end as unpriced_reason
    from resolved
    left join shared_id_deliveries
        on
            resolved.stream = shared_id_deliveries.stream
            and resolved.source_file = shared_id_deliveries.source_file
            and resolved.source_version = shared_id_deliveries.source_version
            and resolved.source_line = shared_id_deliveries.source_line
    left join first_deliveries
        on
            resolved.stream = first_deliveries.stream
            and resolved.event_id = first_deliveries.event_id
    left join catalog
        on
            resolved.stream = catalog.stream
            and resolved.catalog_item = catalog.catalog_item
    left join item_day_coverage
        on
            resolved.stream = item_day_coverage.stream
            and resolved.catalog_item = item_day_coverage.catalog_item
            and resolved.usage_date = item_day_coverage.usage_date
),

classified as (
    select
        *,
        case
            when invalid_reason = 'incomplete_line' then 'pending'
            when not is_valid_event then 'rejected'
            when is_copy and not has_first_payload then 'rejected'
            when is_copy then 'duplicate'
            when is_beyond_late_window then 'rejected'
            when is_after_billing_date then 'pending'
            when unpriced_reason is not null then 'unpriced'
            when is_waiting_for_a_new_day then 'pending'
            else 'billed'
        end as status,
        case
            when not is_valid_event then invalid_reason
            when is_copy and not has_first_payload then 'conflicting_duplicate'
            when is_copy then null
            when is_beyond_late_window then 'beyond_late_window'
            when is_after_billing_date then null
            else unpriced_reason
        end as reason
    from flagged
),

final as (
    select
        stream,
        source_format,
        source_file,
        source_version,
        source_line,
        event_id,
        event_key,
        tenant_id,
        agent_id,
        occurred_at,
        usage_date,
        reported_item,
        item_key,
        catalog_item,
        input_tokens,
        output_tokens,
        audio_seconds,
        characters,
        status,
        reason,
        case
            when status = 'billed' and coalesce(is_late, false)
                then {{ billing_date_literal() }}
            when status = 'billed' then usage_date
        end as bill_date,
        status = 'billed' and coalesce(is_late, false) as is_late,
        case
            when status = 'rejected' or reason = 'incomplete_line'
                then raw_record
        end as raw_record,
        {{ this_catalog_version }} as catalog_version,
        '{{ billing_run_id() }}' as billing_run_id
    from classified
)

select * from final
