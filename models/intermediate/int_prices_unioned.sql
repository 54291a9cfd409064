{#
    One row per price of a billing item and validity period, for all three
    fee types: the price list the bills are computed from. unit_price is
    null for an item that is listed without a price (metered, not billed).
    The fee type and units of each price component come from the seed
    price_components.
#}
with llm_token_prices as (
    select * from {{ ref('stg_pricing__llm_token_prices') }}
),

asr_prices as (
    select * from {{ ref('stg_pricing__asr_prices') }}
),

tts_prices as (
    select * from {{ ref('stg_pricing__tts_prices') }}
),

price_components as (
    select * from {{ ref('stg_reference__price_components') }}
),

unioned as (
    select
        'llm' as stream,
        model as catalog_item,
        token_direction as price_component,
        billing_item,
        currency,
        price_per_million_tokens as unit_price,
        effective_from,
        effective_to
    from llm_token_prices

    union all

    select
        'asr' as stream,
        vendor as catalog_item,
        'audio' as price_component,
        billing_item,
        currency,
        price_per_hour as unit_price,
        effective_from,
        effective_to
    from asr_prices

    union all

    select
        'tts' as stream,
        vendor as catalog_item,
        'characters' as price_component,
        billing_item,
        currency,
        price_per_thousand_characters as unit_price,
        effective_from,
        effective_to
    from tts_prices
),

final as (
    select
        unioned.stream,
        price_components.fee_type,
        unioned.catalog_item,
        unioned.price_component,
        unioned.billing_item,
        unioned.currency,
        unioned.unit_price,
        price_components.pricing_unit,
        price_components.quantity_unit,
        unioned.effective_from,
        unioned.effective_to
    from unioned
    left join price_components
        on
            unioned.stream = price_components.stream
            and unioned.price_component = price_components.price_component
)

select * from final
