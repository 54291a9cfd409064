{#
    The pricing page’s formulas, on quantities already summed over a day.
    Every step stays DECIMAL: DuckDB turns any "/" with a DECIMAL into DOUBLE,
    so divisions are written as multiplications by exact decimal literals, and
    ASR’s division by 3600 is done on integers.
    Result: DECIMAL(38,12), exact for tokens and characters; for ASR rounded
    half away from zero at the 12th decimal.
#}

{#- tokens x price per million tokens / 1,000,000 -#}
{% macro token_amount(tokens, price_per_million) -%}
    cast(
        cast({{ tokens }} as decimal(38, 0))
        * {{ price_per_million }}
        * cast(0.000001 as decimal(7, 6))
        as decimal(38, 12)
    )
{%- endmacro %}


{#- characters / 1000 x price per thousand characters -#}
{% macro tts_amount(characters, price_per_thousand) -%}
    cast(
        cast({{ characters }} as decimal(38, 0))
        * {{ price_per_thousand }}
        * cast(0.001 as decimal(4, 3))
        as decimal(38, 12)
    )
{%- endmacro %}


{#-
    seconds / 3600 x price per hour. With seconds and price both at scale 6,
    seconds_e6 x price_e6 is the exact product in units of 1e-12; dividing
    that integer by 3600, rounding half away from zero, gives the amount in
    units of 1e-12.
-#}
{% macro asr_amount(seconds, price_per_hour) -%}
    {{ per_3600_in_e12(
        'cast(cast(' ~ seconds ~ ' as decimal(38, 6)) * 1000000 as ' ~ exact_integer_type() ~ ')'
        ~ ' * cast(cast(' ~ price_per_hour ~ ' as decimal(18, 6)) * 1000000 as ' ~ exact_integer_type() ~ ')'
    ) }}
{%- endmacro %}


{#-
    An integer count of 1e-12 units times 3600, divided by 3600 with rounding
    half away from zero (for values >= 0), as DECIMAL(38,12).
-#}
{% macro per_3600_in_e12(units_times_3600) -%}
    {{ return(adapter.dispatch('per_3600_in_e12', 'agent_billing')(units_times_3600)) }}
{%- endmacro %}

{% macro default__per_3600_in_e12(units_times_3600) -%}
    cast(
        cast(
            ({{ units_times_3600 }} + 1800) // 3600  -- ok: integer division on HUGEINT
            as decimal(38, 0)
        )
        * cast(0.000000000001 as decimal(13, 12))
        as decimal(38, 12)
    )
{%- endmacro %}

{#-
    Spark has no integer division for 38-digit integers (div gives a
    64-bit long, too small for these products), so the quotient is a
    decimal division floored. It is still exact: (n + 1800) / 3600 has a
    fractional part k / 3600 <= 0.99973, which Spark’s rounding of the
    quotient to 6 decimals cannot carry to the next integer.
-#}
{% macro spark__per_3600_in_e12(units_times_3600) -%}
    cast(
        cast(
            floor(({{ units_times_3600 }} + 1800) / 3600)
            as decimal(38, 0)
        )
        * cast(0.000000000001 as decimal(13, 12))
        as decimal(38, 12)
    )
{%- endmacro %}


{#- The exact amount of a bill line, whatever its fee type. -#}
{% macro line_amount(fee_type, quantity, unit_price) -%}
    case {{ fee_type }}
        when 'model' then {{ token_amount(quantity, unit_price) }}
        when 'asr' then {{ asr_amount(quantity, unit_price) }}
        when 'tts' then {{ tts_amount(quantity, unit_price) }}
    end
{%- endmacro %}


{#-
    amount rounded half away from zero to the currency’s minor unit. The
    currencies seed is tested to hold minor units of 0 or 2 only; the column
    is DECIMAL(38,2) either way.
-#}
{% macro amount_due(amount, minor_unit) -%}
    {#- Each branch is cast on its own: a CASE would give both the narrower
        scale of round(x, 0), silently dropping the cents. -#}
    case {{ minor_unit }}
        when 0 then cast(round({{ amount }}, 0) as decimal(38, 2))
        when 2 then cast(round({{ amount }}, 2) as decimal(38, 2))
    end
{%- endmacro %}


{#-
    A line’s quantity in its pricing unit (FOCUS PricingQuantity): millions
    of tokens, hours of audio, thousands of characters. Exact for tokens and
    characters; hours are seconds / 3600 rounded half away from zero at the
    12th decimal, computed on integers like asr_amount.
-#}
{% macro pricing_quantity(fee_type, quantity) -%}
    case {{ fee_type }}
        when 'model' then cast(
            cast({{ quantity }} as decimal(38, 6))
            * cast(0.000001 as decimal(7, 6))
            as decimal(38, 12)
        )
        when 'asr' then {{ audio_hours(quantity) }}
        when 'tts' then cast(
            cast({{ quantity }} as decimal(38, 6))
            * cast(0.001 as decimal(4, 3))
            as decimal(38, 12)
        )
    end
{%- endmacro %}

{% macro audio_hours(seconds) -%}
    {{ per_3600_in_e12(
        'cast(cast(' ~ seconds ~ ' as decimal(38, 6)) * 1000000 as ' ~ exact_integer_type() ~ ')'
        ~ ' * 1000000'
    ) }}
{%- endmacro %}


{#-
    The unit price a tenant is billed: its contract price (seed
    tenant_prices) in force that day, else the list price less its contract
    discount, else the list price. A discounted price is list x (100 -
    discount_percent) / 100, rounded half away from zero to the six decimals
    of every price (the product is exact before that: 6 + 2 + 2 decimals),
    so that amount = quantity x unit_price holds on the line as for any
    price. Null arguments are no contract.
-#}
{% macro contracted_unit_price(list_price, contract_price, discount_percent) -%}
    case
        when {{ contract_price }} is not null
            then cast({{ contract_price }} as decimal(18, 6))
        when {{ discount_percent }} is not null
            then cast(
                round(
                    {{ list_price }}
                    * (cast(100 as decimal(5, 2)) - {{ discount_percent }})
                    * cast(0.01 as decimal(3, 2)),
                    6
                )
                as decimal(18, 6)
            )
        else cast({{ list_price }} as decimal(18, 6))
    end
{%- endmacro %}
