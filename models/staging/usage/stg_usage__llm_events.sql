{#
    One row per raw LLM usage record (a non-blank JSON line or a Parquet row)
    under usage_root/llm/. Fields are checked here; a record that is not a
    valid event keeps its fields as received and gets an invalid_reason.
    Typed quantities are filled only for valid records.
#}
with source as (
    {{ read_usage_records('llm') }}
),

cleaned as (
    select
        -- lineage
        'llm' as stream,
        source_format,
        source_file,
        source_version,
        source_line,
        raw_record,
        record_error,
        -- ids
        {{ usage_text_id('event_id') }} as event_id,
        {{ usage_text_id('tenant_id') }} as tenant_id,
        {{ usage_text_id('agent_id') }} as agent_id,
        -- as received
        trim(occurred_at) as occurred_at_text,
        {{ usage_text_id('model') }} as reported_model,
        trim(input_tokens) as input_tokens_text,
        trim(output_tokens) as output_tokens_text,
        -- typed Parquet values, already checked (else null)
        occurred_at_value,
        input_tokens_value,
        output_tokens_value
    from source
),

checked as (
    select
        *,
        coalesce(
            occurred_at_value,
            {{ parse_usage_timestamp('occurred_at_text') }}
        ) as occurred_at,
        (
            (
                input_tokens_value is not null
                or {{ is_whole_quantity('input_tokens_text') }}
            )
            and (
                output_tokens_value is not null
                or {{ is_whole_quantity('output_tokens_text') }}
            )
        ) as has_valid_quantities
    from cleaned
),

validated as (
    select
        *,
        case
            when record_error is not null then record_error
            when event_id is null then 'missing_event_id'
            when tenant_id is null then 'missing_tenant_id'
            when occurred_at is null then 'invalid_timestamp'
            when reported_model is null then 'missing_model'
            when not has_valid_quantities then 'invalid_quantity'
        end as invalid_reason
    from checked
),

final as (
    select
        stream,
        source_format,
        source_file,
        source_version,
        source_line,
        event_id,
        tenant_id,
        agent_id,
        occurred_at,
        reported_model,
        lower(reported_model) as model_key,
        case
            when has_valid_quantities
                then coalesce(
                    input_tokens_value, cast(input_tokens_text as bigint)
                )
        end as input_tokens,
        case
            when has_valid_quantities
                then coalesce(
                    output_tokens_value, cast(output_tokens_text as bigint)
                )
        end as output_tokens,
        invalid_reason,
        coalesce(
            raw_record,
            -- a Parquet row has no text of its own: shown as JSON if rejected
            case
                when invalid_reason is not null and source_line > 0
                    then {{ json_object_text([
                ('event_id', 'event_id'),
                ('tenant_id', 'tenant_id'),
                ('agent_id', 'agent_id'),
                ('occurred_at', received_text('occurred_at')),
                ('model', 'reported_model'),
                ('input_tokens', received_text('input_tokens')),
                ('output_tokens', received_text('output_tokens'))
            ]) }}
            end
        ) as raw_record
    from validated
)

select * from final
