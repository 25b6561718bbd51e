{#- GenAI charges that are not a staging model's rows as they are, in the charge shape:
    (1) Anthropic cost report rows (billed money) with the token quantity of the matching usage (same day,
        workspace, model, token type, context window; the cost report has no API key, so usage is summed over keys);
    (2) usage priced from the price seed, for (provider, billing account, day)s with no billed cost row at all
        (cost endpoint not granted, or not yet reported). A day is either billed or calculated, never both, so
        nothing is counted twice. OpenAI's billed rows come straight from stg_openai__costs (its line items carry
        their own token quantity). -#}
{%- set string = dbt.type_string() -%}
with anthropic_costs as (
    select * from {{ ref('stg_anthropic__costs') }}
),

openai_costs as (
    select * from {{ ref('stg_openai__costs') }}
),

usage as (
    select * from {{ ref('int_genai_usage') }}
),

prices as (
    select * from {{ ref('int_genai_prices') }}
),

anthropic_usage_by_cost_key as (
    {#- Web search costs may come without a model (and context window): those match the day's searches of all
        models ('*'). -#}
    select
        billing_account_id, charge_period_start_at, sub_account_id, ai_model, ai_token_type, context_window,
        sum(quantity) as quantity, max(load_id) as load_id
    from usage
    where provider = 'anthropic'
    group by billing_account_id, charge_period_start_at, sub_account_id, ai_model, ai_token_type, context_window
    union all
    select
        billing_account_id, charge_period_start_at, sub_account_id, '*' as ai_model, ai_token_type,
        cast(null as {{ string }}) as context_window, sum(quantity) as quantity, max(load_id) as load_id
    from usage
    where provider = 'anthropic' and ai_token_type = 'web_search'
    group by billing_account_id, charge_period_start_at, sub_account_id, ai_token_type
),

billed_anthropic as (
    select
        costs.cost_result_id as row_key,
        costs.provider,
        'anthropic_cost_report' as source_system,
        costs.billing_account_id,
        costs.sub_account_id,
        cast(null as {{ string }}) as api_key_id,
        costs.ai_model,
        costs.ai_token_type,
        coalesce(costs.ai_model || ':' || costs.anthropic_token_type, costs.description, costs.cost_type, 'Claude API')
            as sku_id,
        coalesce(costs.description, 'Claude API usage') as charge_description,
        costs.billing_currency,
        costs.amount,
        cast(null as {{ unit_price_type() }}) as seed_unit_price,
        {#- Without matching usage (e.g. code execution), a result is priced as one unit of a day bucket. -#}
        case when matched.quantity is not null and matched.quantity <> 0 then matched.quantity else 1 end
            as pricing_quantity,
        case when matched.quantity is not null and matched.quantity <> 0 then costs.consumed_unit else 'Days' end
            as pricing_unit,
        costs.charge_period_start_at,
        costs.charge_period_end_at,
        {#- Either input may change the row: the newer of the two loads. -#}
        nullif(greatest(coalesce(costs.load_id, ''), coalesce(matched.load_id, '')), '') as load_id,
        {{ key_value_json([
            ['cost_basis', "'billed'"], ['service_tier', 'costs.service_tier'],
            ['context_window', 'costs.context_window'], ['inference_geo', 'costs.inference_geo'],
        ]) }} as provider_details
    from anthropic_costs as costs
    left join anthropic_usage_by_cost_key as matched
        on costs.billing_account_id = matched.billing_account_id
        and costs.charge_period_start_at = matched.charge_period_start_at
        and coalesce(costs.sub_account_id, '~') = coalesce(matched.sub_account_id, '~')
        and coalesce(costs.ai_model, '*') = matched.ai_model
        and costs.ai_token_type = matched.ai_token_type
        and coalesce(costs.context_window, '~') = coalesce(matched.context_window, '~')
),

billed_days as (
    select distinct provider, billing_account_id, cast(charge_period_start_at as date) as charge_date
    from anthropic_costs
    union all
    select distinct provider, billing_account_id, cast(charge_period_start_at as date) as charge_date
    from openai_costs
),

calculated as (
    select
        {{ charge_id(['usage.provider', 'usage.sub_account_id', 'usage.api_key_id', 'usage.ai_model',
                      'usage.ai_token_type', 'usage.service_tier', 'usage.context_window']) }} as row_key,
        usage.provider,
        case usage.provider when 'openai' then 'openai_usage' else 'anthropic_usage_report' end as source_system,
        usage.billing_account_id,
        usage.sub_account_id,
        usage.api_key_id,
        usage.ai_model,
        usage.ai_token_type,
        coalesce(usage.ai_model, '*') || ':' || usage.ai_token_type as sku_id,
        coalesce(usage.ai_model, 'all models') || ' ' || usage.ai_token_type || ' (calculated from usage)'
            as charge_description,
        {{ genai_matched_price('currency') }} as billing_currency,
        {{ money_product(genai_matched_price('unit_price'), 'usage.quantity') }} as amount,
        {{ genai_matched_price('unit_price') }} as seed_unit_price,
        usage.quantity as pricing_quantity,
        usage.consumed_unit as pricing_unit,
        usage.charge_period_start_at,
        usage.charge_period_end_at,
        usage.load_id,
        {{ key_value_json([
            ['cost_basis', "'calculated_from_usage'"], ['service_tier', 'usage.service_tier'],
            ['context_window', 'usage.context_window'],
        ]) }} as provider_details
    from usage
    left join billed_days
        on usage.provider = billed_days.provider
        and usage.billing_account_id = billed_days.billing_account_id
        and cast(usage.charge_period_start_at as date) = billed_days.charge_date
    {{ genai_price_joins('usage', 'prices') }}
    where billed_days.provider is null
        and {{ genai_matched_price('unit_price') }} is not null
),

unioned as (
    select * from billed_anthropic
    union all
    select * from calculated
),

final as (
    select
        {{ charge_id(['billing_account_id', 'source_system', 'row_key', 'charge_period_start_at']) }} as charge_id,
        provider,
        source_system,
        case provider when 'openai' then 'openai_api' else 'claude_api' end as service_code,
        billing_account_id,
        billing_account_id as billing_account_name,
        'Organization' as billing_account_type,
        sub_account_id,
        sub_account_id as sub_account_name,
        case when sub_account_id is not null then
            case provider when 'openai' then 'Project' else 'Workspace' end
        end as sub_account_type,
        cast(null as {{ string }}) as invoice_id,
        case provider when 'openai' then 'OpenAI' else 'Anthropic' end as invoice_issuer_name,
        case provider when 'openai' then 'OpenAI' else 'Anthropic' end as service_provider_name,
        case provider when 'openai' then 'OpenAI' else 'Anthropic' end as host_provider_name,
        case provider when 'openai' then 'OpenAI API' else 'Claude API' end as service_name,
        'Usage' as charge_category,
        cast(null as {{ string }}) as charge_class,
        'Usage-Based' as charge_frequency,
        charge_description,
        'Standard' as pricing_category,
        sku_id,
        sku_id as sku_price_id,
        sku_id as sku_meter,
        cast(null as {{ string }}) as sku_price_details,
        pricing_unit,
        pricing_unit as consumed_unit,
        cast(null as {{ string }}) as region_id,
        cast(null as {{ string }}) as region_name,
        cast(null as {{ string }}) as availability_zone,
        api_key_id as resource_id,
        cast(null as {{ string }}) as resource_name,
        case when api_key_id is not null then 'API Key' end as resource_type,
        cast(null as {{ string }}) as tags,
        billing_currency,
        cast(null as {{ string }}) as usage_type,
        cast(null as {{ string }}) as operation,
        cast(null as {{ string }}) as line_item_type,
        cast(null as {{ string }}) as commitment_discount_id,
        cast(null as {{ string }}) as commitment_discount_name,
        cast(null as {{ string }}) as commitment_discount_category,
        cast(null as {{ string }}) as commitment_discount_type,
        cast(null as {{ string }}) as commitment_discount_status,
        cast(null as {{ unit_price_type() }}) as commitment_discount_quantity,
        cast(null as {{ string }}) as commitment_discount_unit,
        amount as billed_cost,
        amount as effective_cost,
        {{ money_product('unit_price', 'pricing_quantity') }} as list_cost,
        {{ money_product('unit_price', 'pricing_quantity') }} as contracted_cost,
        unit_price as list_unit_price,
        unit_price as contracted_unit_price,
        pricing_quantity,
        pricing_quantity as consumed_quantity,
        {{ month_start('charge_period_start_at') }} as billing_period_start_at,
        {{ add_months(month_start('charge_period_start_at'), 1) }} as billing_period_end_at,
        charge_period_start_at,
        charge_period_end_at,
        load_id,
        ai_model,
        ai_token_type,
        sub_account_id as ai_project_id,
        api_key_id as ai_api_key_id,
        provider_details
    from (
        {#- Calculated rows carry the seed's exact unit price; billed rows derive theirs from money and quantity. -#}
        select *, coalesce(seed_unit_price, cast(amount / pricing_quantity as {{ unit_price_type() }})) as unit_price
        from unioned
    ) as with_unit_price
)

select * from final
