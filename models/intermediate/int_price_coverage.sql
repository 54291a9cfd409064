{#
    When each catalog item can be billed: one row per stream, catalog item
    and period in which every price component of the item has a price in
    force (input and output for a model, one price for a voice), from
    covered_from (inclusive) to covered_to (exclusive, null while it lasts).
    A day of usage outside every period of its item is no_price_in_force
    (usage_records); an item listed without a price has no period at all.

    The periods are cut at every date where a price of the item starts or
    ends; each piece is kept if all the components have a price on its
    first day (prices do not change inside a piece).
#}
with prices as (
    select * from {{ ref('int_prices_unioned') }}
    where unit_price is not null
),

boundaries as (
    select
        stream,
        catalog_item,
        effective_from as boundary
    from prices

    union

    select
        stream,
        catalog_item,
        effective_to as boundary
    from prices
    where effective_to is not null
),

pieces as (
    select
        stream,
        catalog_item,
        boundary as covered_from,
        lead(boundary) over (
            partition by stream, catalog_item order by boundary
        ) as covered_to
    from boundaries
),

priced_pieces as (
    select
        pieces.stream,
        pieces.catalog_item,
        pieces.covered_from,
        pieces.covered_to,
        count(distinct prices.price_component) as priced_components
    from pieces
    inner join prices
        on
            pieces.stream = prices.stream
            and pieces.catalog_item = prices.catalog_item
            and {{ price_in_force('prices', 'pieces.covered_from') }}
    group by
        pieces.stream,
        pieces.catalog_item,
        pieces.covered_from,
        pieces.covered_to
),

final as (
    select
        stream,
        catalog_item,
        covered_from,
        covered_to
    from priced_pieces
    -- a model is priced per input and per output token, a voice once
    where priced_components = case when stream = 'llm' then 2 else 1 end
)

select * from final
