with source as (
    select * from {{ ref('llm_token_prices') }}
),

renamed as (
    select
        -- ids
        lower(trim(model)) as model,
        lower(trim(token_direction)) as token_direction,
        -- descriptions
        model_name,
        provider,
        billing_item,
        -- price
        upper(trim(currency)) as currency,
        price_per_million_tokens,
        -- validity, [effective_from, effective_to)
        effective_from,
        effective_to
    from source
)

select * from renamed
