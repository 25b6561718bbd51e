{#- The GenAI price seed ready to join: the exact price of one consumed unit and an exclusive end date. -#}
with prices as (
    select * from {{ ref('genai_prices') }}
),

ready as (
    select
        provider,
        model,
        token_type,
        consumed_unit,
        pricing_unit,
        currency,
        {{ genai_unit_price('price', 'unit_size') }} as unit_price,
        valid_from,
        coalesce(valid_to, cast('9999-12-31' as date)) as valid_until
    from prices
)

select * from ready
