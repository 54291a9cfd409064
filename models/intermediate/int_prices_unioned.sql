{#
    One row per price of a billing item and validity period, for all three
    fee types: the price list the bills are computed from. unit_price is
    null for an item that is listed without a price (metered, not billed).
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

unioned as (
    select
        'llm' as stream,
        'model' as fee_type,
        model as catalog_item,
        token_direction as price_component,
        billing_item,
        currency,
        price_per_million_tokens as unit_price,
        '1M tokens' as pricing_unit,
        'tokens' as quantity_unit,
        effective_from,
        effective_to
    from llm_token_prices

    union all

    select
        'asr' as stream,
        'asr' as fee_type,
        vendor as catalog_item,
        'audio' as price_component,
        billing_item,
        currency,
        price_per_hour as unit_price,
        'hour' as pricing_unit,
        'seconds' as quantity_unit,
        effective_from,
        effective_to
    from asr_prices

    union all

    select
        'tts' as stream,
        'tts' as fee_type,
        vendor as catalog_item,
        'characters' as price_component,
        billing_item,
        currency,
        price_per_thousand_characters as unit_price,
        '1K characters' as pricing_unit,
        'characters' as quantity_unit,
        effective_from,
        effective_to
    from tts_prices
)

select * from unioned
