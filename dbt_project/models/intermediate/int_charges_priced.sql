{#- Every charge with x_CalculatedCost: for GenAI rows that name a model and a token type, the consumed quantity
    times the effective-dated seed price of that day (null where no price is known or the row has no usage
    quantity); null for every other provider. The variance to BilledCost is shown in the FOCUS model. -#}
with charges as (
    select * from {{ ref('int_charges_categorized') }}
),

prices as (
    select * from {{ ref('int_genai_prices') }}
),

priced as (
    select
        charges.*,
        case
            when charges.ai_token_type is not null and charges.consumed_quantity is not null
                and {{ genai_matched_price('currency') }} = charges.billing_currency then
            {{ money_product(genai_matched_price('unit_price'), 'charges.consumed_quantity') }}
        end as calculated_cost
    from charges
    {{ genai_price_joins('charges', 'prices') }}
)

select * from priced
