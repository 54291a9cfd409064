with source as (
    select * from {{ ref('currencies') }}
),

renamed as (
    select
        upper(trim(currency)) as currency,
        currency_name,
        symbol,
        minor_unit
    from source
)

select * from renamed
