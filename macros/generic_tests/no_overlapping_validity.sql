{#
    Price seeds: for the same billing item (the partition columns), two rows’
    validity periods [effective_from, effective_to) must not overlap, or a
    day would have two prices. Two rows starting on the same day overlap, so
    this is also the grain test of a price table. Each failing row names both
    seed rows. ids_ignore_case: the partition columns are compared lower-cased
    and trimmed, as usage is matched to them (" GPT-4o" is gpt-4o).
#}
{% test no_overlapping_validity(model, partition_by, ids_ignore_case=false) %}
    with price_rows as (
        select
            {%- for column in partition_by %}
            {%- if ids_ignore_case %}
            lower(trim({{ column }})) as {{ column }},
            {%- else %}
            {{ column }},
            {%- endif %}
            {%- endfor %}
            effective_from,
            effective_to
        from {{ model }}
    )

    select
        {%- for column in partition_by %}
        earlier.{{ column }},
        {%- endfor %}
        earlier.effective_from as first_effective_from,
        earlier.effective_to as first_effective_to,
        later.effective_from as second_effective_from,
        later.effective_to as second_effective_to
    from price_rows as earlier
    inner join price_rows as later
        on
            {%- for column in partition_by %}
            earlier.{{ column }} = later.{{ column }} and
            {%- endfor %}
            earlier.effective_from < later.effective_from
    where
        earlier.effective_to is null
        or earlier.effective_to > later.effective_from

    union all

    -- two rows starting on the same day always overlap
    select
        {%- for column in partition_by %}
        {{ column }},
        {%- endfor %}
        effective_from as first_effective_from,
        min(effective_to) as first_effective_to,
        effective_from as second_effective_from,
        max(effective_to) as second_effective_to
    from price_rows
    group by {{ partition_by | join(', ') }}, effective_from
    having count(*) > 1
{% endtest %}
