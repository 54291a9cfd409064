{#
    One row per raw usage record with exactly one status, decided in the
    contract's order of precedence:

      1. rejected     not a valid event (invalid_reason), or a later copy of
                      an event_id whose payload differs from the first
                      delivery (conflicting_duplicate)
      2. duplicate    a later copy of an event_id with the same payload
      3. rejected     beyond_late_window: usage_date more than
                      late_window_days before billing_date
      4. pending      usage_date after billing_date (billed by a later run)
      5. unpriced     unknown_model / unknown_vendor (not in the catalog) or
                      no_price_in_force on usage_date
      6. billed

    The first delivery of an event_id is the first valid record of that id
    in (source_file, source_line) order. The payload compared between copies
    is everything but the id: tenant, agent, instant, item (case and spaces
    ignored) and quantities (as numbers).
#}
with events as (
    select * from {{ ref('int_usage_events_unioned') }}
),

prices as (
    select * from {{ ref('int_prices_unioned') }}
),

model_aliases as (
    select * from {{ ref('stg_pricing__model_aliases') }}
),

catalog as (
    select distinct
        stream,
        catalog_item
    from prices
),

resolved as (
    select
        events.*,
        events.invalid_reason is null as is_valid_event,
        case
            when events.stream = 'llm'
                then coalesce(model_aliases.model, events.item_key)
            else events.item_key
        end as catalog_item
    from events
    left join model_aliases
        on
            events.stream = 'llm'
            and events.item_key = model_aliases.reported_model
),

deliveries as (
    select
        *,
        row_number() over (
            partition by stream, event_id, is_valid_event
            order by source_file, source_line
        ) as delivery_number,
        md5(concat_ws(
            '|',
            tenant_id,
            coalesce(agent_id, '<none>'),
            cast(epoch_us(occurred_at) as varchar),
            item_key,
            coalesce(cast(input_tokens as varchar), '-'),
            coalesce(cast(output_tokens as varchar), '-'),
            coalesce(cast(audio_seconds as varchar), '-'),
            coalesce(cast(characters as varchar), '-')
        )) as payload_hash
    from resolved
),

first_deliveries as (
    select
        stream,
        event_id,
        payload_hash as first_payload_hash
    from deliveries
    where is_valid_event and delivery_number = 1
),

{# Prices are looked up once per item and day, not once per event. #}
item_days as (
    select distinct
        stream,
        catalog_item,
        usage_date
    from deliveries
    where is_valid_event and delivery_number = 1
),

item_day_prices as (
    select
        item_days.stream,
        item_days.catalog_item,
        item_days.usage_date,
        count(prices.unit_price) as priced_components
    from item_days
    left join prices
        on
            item_days.stream = prices.stream
            and item_days.catalog_item = prices.catalog_item
            and {{ price_in_force('prices', 'item_days.usage_date') }}
    group by
        item_days.stream,
        item_days.catalog_item,
        item_days.usage_date
),

flagged as (
    select
        deliveries.*,
        deliveries.is_valid_event
        and deliveries.delivery_number > 1
        and deliveries.payload_hash
        <> first_deliveries.first_payload_hash as is_conflicting_copy,
        deliveries.is_valid_event
        and deliveries.delivery_number > 1
        and deliveries.payload_hash
        = first_deliveries.first_payload_hash as is_redelivery,
        deliveries.usage_date < {{ billing_date_literal() }}
        - {{ late_window_days() }} as is_beyond_late_window,
        deliveries.usage_date > {{ billing_date_literal() }} as is_pending,
        case
            when catalog.catalog_item is null
                then
                    case
                        when deliveries.stream = 'llm' then 'unknown_model'
                        else 'unknown_vendor'
                    end
            when
                coalesce(item_day_prices.priced_components, 0)
                < case when deliveries.stream = 'llm' then 2 else 1 end
                then 'no_price_in_force'
        end as unpriced_reason
    from deliveries
    left join first_deliveries
        on
            deliveries.stream = first_deliveries.stream
            and deliveries.event_id = first_deliveries.event_id
    left join catalog
        on
            deliveries.stream = catalog.stream
            and deliveries.catalog_item = catalog.catalog_item
    left join item_day_prices
        on
            deliveries.stream = item_day_prices.stream
            and deliveries.catalog_item = item_day_prices.catalog_item
            and deliveries.usage_date = item_day_prices.usage_date
),

classified as (
    select
        *,
        case
            when not is_valid_event or is_conflicting_copy then 'rejected'
            when is_redelivery then 'duplicate'
            when is_beyond_late_window then 'rejected'
            when is_pending then 'pending'
            when unpriced_reason is not null then 'unpriced'
            else 'billed'
        end as status,
        case
            when not is_valid_event then invalid_reason
            when is_conflicting_copy then 'conflicting_duplicate'
            when is_redelivery then null
            when is_beyond_late_window then 'beyond_late_window'
            when is_pending then null
            else unpriced_reason
        end as reason
    from flagged
),

final as (
    select
        stream,
        source_format,
        source_file,
        source_line,
        event_id,
        tenant_id,
        agent_id,
        occurred_at,
        usage_date,
        reported_item,
        catalog_item,
        input_tokens,
        output_tokens,
        audio_seconds,
        characters,
        status,
        reason,
        raw_record
    from classified
)

select * from final
