{#
    One row per LLM model id as clients report it (item_key: lower case,
    trimmed) among the records this run classifies, new or carried over:
    the catalog model it is priced as, by the rules of the seed
    model_aliases. An exact alias, else the id itself if the catalog has
    it, else the id without the prefixes (longest first, up to three) and
    suffix of the rules, through the exact aliases again. Worked out once
    per distinct id, on every run, so a new alias bills open records. An id
    no rule resolves stays as it is (usage_records: unknown_model).
#}
{#- The open records of the ledger, read by name: usage_records is
    downstream of this model. None in a unit test. -#}
{%- set records_state = none -%}
{%- if execute and this is not none and this is not string -%}
    {%- set records_state = adapter.get_relation(
        database=this.database,
        schema=ledger_state_schema(),
        identifier='usage_records',
    ) -%}
{%- endif -%}
{%- set has_records = records_state is not none %}

with read_records as (
    select * from {{ ref('int_usage_events_unioned') }}
),

model_aliases as (
    select * from {{ ref('stg_pricing__model_aliases') }}
),

catalog as (
    select distinct
        stream,
        catalog_item
    from {{ ref('int_prices_unioned') }}
),

reported_models as (
    select item_key
    from read_records
    where stream = 'llm' and item_key is not null
    {%- if has_records %}

    union

    -- open records an earlier run left: this run classifies them again
    select earlier.item_key
    from {{ records_state }} as earlier
    where
        earlier.stream = 'llm'
        and earlier.item_key is not null
        and earlier.status in ('pending', 'unpriced')
    {%- endif %}
),

exact_aliases as (
    select
        reported_model,
        model
    from model_aliases
    where coalesce(match_type, 'exact') = 'exact'
),

alias_prefixes as (
    select reported_model as id_prefix
    from model_aliases
    where match_type = 'prefix'
),

alias_suffixes as (
    select reported_model as id_suffix
    from model_aliases
    where match_type = 'suffix'
),

{%- set ns = namespace(previous='reported_models', key='item_key') %}
{%- for pass_number in range(1, 4) %}

prefix_pass_{{ pass_number }} as (
    select
        model_keys.item_key,
        coalesce(
            max_by(
                substr(
                    model_keys.{{ ns.key }}, length(prefixes.id_prefix) + 1
                ),
                length(prefixes.id_prefix)
            ),
            model_keys.{{ ns.key }}
        ) as stripped_key
    from {{ ns.previous }} as model_keys
    left join alias_prefixes as prefixes
        on
            length(model_keys.{{ ns.key }}) > length(prefixes.id_prefix)
            and substr(
                model_keys.{{ ns.key }}, 1, length(prefixes.id_prefix)
            ) = prefixes.id_prefix
    group by model_keys.item_key, model_keys.{{ ns.key }}
),
{%- set ns.previous = 'prefix_pass_' ~ pass_number %}
{%- set ns.key = 'stripped_key' %}
{%- endfor %}

suffix_pass as (
    select
        model_keys.item_key,
        coalesce(
            max_by(
                substr(
                    model_keys.stripped_key,
                    1,
                    length(model_keys.stripped_key)
                    - length(suffixes.id_suffix)
                ),
                length(suffixes.id_suffix)
            ),
            model_keys.stripped_key
        ) as stripped_key
    from prefix_pass_3 as model_keys
    left join alias_suffixes as suffixes
        on
            length(model_keys.stripped_key) > length(suffixes.id_suffix)
            and substr(
                model_keys.stripped_key,
                length(model_keys.stripped_key)
                - length(suffixes.id_suffix) + 1
            ) = suffixes.id_suffix
    group by model_keys.item_key, model_keys.stripped_key
),

final as (
    select
        suffix_pass.item_key,
        coalesce(
            as_reported.model,
            catalog.catalog_item,
            as_stripped.model,
            suffix_pass.stripped_key
        ) as catalog_item
    from suffix_pass
    left join exact_aliases as as_reported
        on suffix_pass.item_key = as_reported.reported_model
    left join catalog
        on
            catalog.stream = 'llm'
            and suffix_pass.item_key = catalog.catalog_item
    left join exact_aliases as as_stripped
        on suffix_pass.stripped_key = as_stripped.reported_model
)

select * from final
