-- Every model and vendor of the price catalog names its publisher (seed
-- catalog_publishers), so that no FOCUS charge has an empty PublisherName.
select
    prices.stream,
    prices.catalog_item
from {{ ref('int_prices_unioned') }} as prices
left join {{ ref('stg_pricing__catalog_publishers') }} as publishers
    on
        prices.stream = publishers.stream
        and prices.catalog_item = publishers.catalog_item
where publishers.catalog_item is null
group by prices.stream, prices.catalog_item
