with source as (
    select * from {{ ref('catalog_publishers') }}
),

renamed as (
    select
        lower(trim(stream)) as stream,
        lower(trim(catalog_item)) as catalog_item,
        trim(publisher_name) as publisher_name
    from source
)

select * from renamed
