{%- set string = dbt.type_string() -%}
{%- set ai_services = "('vertex ai', 'gemini api', 'generative language api')" -%}
with source as (
    {{ pinned_source('gcp', 'gcp_billing_export', [
        ['billing_account_id', string], ['invoice__month', string], ['cost_type', string],
        ['service__id', string], ['service__description', string], ['sku__id', string], ['sku__description', string],
        ['usage_start_time', string], ['usage_end_time', string], ['export_time', string],
        ['project__id', string], ['project__number', string], ['project__name', string], ['project__labels', string],
        ['labels', string], ['system_labels', string], ['tags', string],
        ['location__location', string], ['location__region', string], ['location__zone', string],
        ['resource__name', string], ['resource__global_name', string],
        ['price__effective_price', string], ['price__list_price', string], ['price__pricing_unit_quantity', string],
        ['price__tier_start_amount', string], ['price__unit', string],
        ['subscription__instance_id', string], ['transaction_type', string], ['seller_name', string],
        ['cost', string], ['currency', string], ['cost_at_list', string],
        ['usage__amount', string], ['usage__unit', string], ['usage__amount_in_pricing_units', string],
        ['usage__pricing_unit', string], ['credits', string],
        ['adjustment_info__id', string], ['adjustment_info__description', string], ['adjustment_info__mode', string],
        ['adjustment_info__type', string], ['consumption_model__id', string], ['consumption_model__description', string],
        ['source_file', string], ['source_row', string], ['_dlt_load_id', string],
    ]) }}
),

renamed as (
    select
        _dlt_load_id as load_id,
        source_file,
        source_row,
        billing_account_id,
        invoice__month as invoice_month,
        lower(coalesce(cost_type, 'regular')) as cost_type,
        service__id as service_id,
        service__description as service_description,
        sku__id as sku_id,
        sku__description as sku_description,
        project__id as project_id,
        coalesce(project__name, project__id) as project_name,
        coalesce(location__region, location__location) as region_id,
        location__zone as availability_zone,
        coalesce(resource__global_name, resource__name) as resource_id,
        resource__name as resource_name,
        subscription__instance_id as subscription_instance_id,
        transaction_type,
        seller_name,
        adjustment_info__id as adjustment_id,
        adjustment_info__description as adjustment_description,
        adjustment_info__mode as adjustment_mode,
        adjustment_info__type as adjustment_type,
        consumption_model__id as consumption_model_id,
        consumption_model__description as consumption_model_description,
        price__unit as price_unit,
        price__tier_start_amount as tier_start_amount,
        credits,
        {#- Resource labels keep their keys (GCP label keys are [a-z0-9_-] only, so no prefix can collide); project labels
            get "project:", resource manager tags "tag:"; system labels already carry their *.googleapis.com/ or goog-
            prefix, which marks them as provider-defined. #}
        {{ json_key_value_object([
            ['labels', ''], ['project__labels', 'project:'], ['tags', 'tag:'], ['system_labels', ''],
        ]) }} as tags,
        upper(currency) as billing_currency,
        {{ to_money('cost') }} as cost,
        {{ to_money('cost_at_list') }} as cost_at_list,
        cast(usage__amount as {{ unit_price_type() }}) as usage_amount,
        cast(usage__amount_in_pricing_units as {{ unit_price_type() }}) as pricing_quantity,
        cast(price__list_price as {{ unit_price_type() }}) as list_price,
        cast(price__effective_price as {{ unit_price_type() }}) as effective_price,
        cast(nullif(price__pricing_unit_quantity, '0') as {{ unit_price_type() }}) as price_unit_quantity,
        {%- for unit_column, alias in [('usage__unit', 'consumed_unit'), ('usage__pricing_unit', 'pricing_unit')] %}
        {#- GCP unit names to FOCUS UnitFormat; others pass through. #}
        case lower({{ unit_column }})
            when '' then null
            when 'hour' then 'Hours'
            when 'hours' then 'Hours'
            when 'seconds' then 'Seconds'
            when 'month' then 'Months'
            when 'bytes' then 'Bytes'
            when 'byte-seconds' then 'Byte-Seconds'
            when 'gibibyte' then 'GiB'
            when 'tebibyte' then 'TiB'
            when 'gibibyte hour' then 'GiB-Hours'
            when 'gibibyte month' then 'GiB-Months'
            when 'requests' then 'Requests'
            when 'count' then 'Count'
            when '1000 count' then '1000 Count'
            else {{ unit_column }}
        end as {{ alias }},
        {%- endfor %}
        {{ to_utc_timestamp('usage_start_time') }} as charge_period_start_at,
        {{ to_utc_timestamp('usage_end_time') }} as charge_period_end_at,
        {#- Invoice months run on Pacific time (Cloud Billing reports and invoices use America/Los_Angeles). #}
        {{ local_month_start('invoice__month', 'America/Los_Angeles') }} as billing_period_start_at,
        {{ local_month_start('invoice__month', 'America/Los_Angeles', 1) }} as billing_period_end_at
    from source
),

classified as (
    select
        *,
        case
            when cost_type = 'tax' then 'Tax'
            when cost_type in ('adjustment', 'rounding_error') then 'Adjustment'
            {#- A committed use discount's fee row names its commitment in subscription.instance_id. #}
            when subscription_instance_id is not null then 'Purchase'
            else 'Usage'
        end as charge_category,
        {#- An adjustment of usage before this invoice month corrects an invoice already issued. #}
        case
            when cost_type = 'adjustment' and charge_period_start_at < billing_period_start_at then 'Correction'
        end as charge_class,
        {#- Generative AI SKUs of Vertex AI and the Gemini API: the model is the SKU's leading words before the release
            stage or modality ("Gemini 2.5 Flash GA Text Input - Predictions" → gemini-2.5-flash). #}
        case when lower(service_description) in {{ ai_services }} then
            lower(replace({{ regexp_group('sku_description', '^((?:Gemini|Gemma|Claude|Llama|Imagen|Veo|Mistral|Codestral|Jamba|Chirp|Text Embedding|Embedding)[^-]*?) (?:GA|Preview|Experimental|Text|Image|Video|Audio|Multimodal|Input|Output|Thinking|Cached|Cache|Batch|Long|Short|Tokens|Characters|Predictions|Online|Tuning|Context)(?: |$)') }}, ' ', '-'))
        end as ai_model,
        case
            when lower(service_description) not in {{ ai_services }} then null
            when sku_description like '%Grounding%' or sku_description like '%Search%' then 'web_search'
            when sku_description like '%Batch%' and sku_description like '%Output%' then 'batch_output'
            when sku_description like '%Batch%' and sku_description like '%Input%' then 'batch_input'
            when sku_description like '%Cache%Storage%' then 'cache_storage'
            when sku_description like '%Cached%' or sku_description like '%Cache %' then 'cached_input'
            when sku_description like '%Input%' then 'input'
            when sku_description like '%Output%' then 'output'
            when sku_description like '%Image%' then 'images'
            when sku_description like '%Video%' or sku_description like '%Audio%' then 'seconds'
            when sku_description like '%Prediction%' or sku_description like '%Request%' then 'requests'
        end as ai_token_type
    from renamed
),

{#- One Credit row per element of credits[]; it keeps the dimensions of the charge it was granted on. #}
credit_rows as (
    select
        classified.*,
        credit_index,
        {{ json_text('credit', '$.type') }} as credit_type,
        {{ json_text('credit', '$.id') }} as credit_id,
        coalesce({{ json_text('credit', '$.full_name') }}, {{ json_text('credit', '$.name') }}) as credit_name,
        {{ to_money(json_text('credit', '$.amount')) }} as credit_amount
    from classified
    cross join {{ json_array_elements('classified.credits', 'credit', 'credit_index') }}
),

charges as (
    {%- set export_columns = ['load_id', 'source_file', 'source_row', 'billing_account_id', 'invoice_month', 'cost_type',
        'service_id', 'service_description', 'sku_id', 'sku_description', 'project_id', 'project_name', 'region_id',
        'availability_zone', 'resource_id', 'resource_name', 'subscription_instance_id', 'transaction_type',
        'seller_name', 'adjustment_id', 'adjustment_description', 'adjustment_mode', 'adjustment_type',
        'consumption_model_id', 'consumption_model_description', 'price_unit', 'tier_start_amount', 'tags',
        'billing_currency', 'cost', 'cost_at_list', 'usage_amount', 'pricing_quantity', 'list_price',
        'effective_price', 'price_unit_quantity', 'consumed_unit', 'pricing_unit', 'charge_period_start_at',
        'charge_period_end_at', 'billing_period_start_at', 'billing_period_end_at', 'ai_model', 'ai_token_type'] %}
    select
        {%- for column in export_columns %}
        {{ column }},
        {%- endfor %}
        charge_category,
        charge_class,
        cast(null as {{ string }}) as credit_index,
        cast(null as {{ string }}) as credit_type,
        cast(null as {{ string }}) as credit_id,
        cast(null as {{ string }}) as credit_name,
        cast(null as {{ money_type() }}) as credit_amount
    from classified
    union all
    select
        {%- for column in export_columns %}
        {{ column }},
        {%- endfor %}
        'Credit' as charge_category,
        cast(null as {{ string }}) as charge_class,
        cast(credit_index as {{ string }}) as credit_index,
        credit_type,
        credit_id,
        credit_name,
        credit_amount
    from credit_rows
),

{#- Committed use discounts: the covered usage row carries a COMMITTED_USAGE_DISCOUNT* credit whose id names the
    commitment, and the commitment's monthly fee is a Purchase row with subscription.instance_id. The fee is amortised
    onto the covered usage of the same account, invoice month and commitment, in proportion to each row's discount. #}
commitments as (
    select
        *,
        max(case when credit_type like 'COMMITTED_USAGE_DISCOUNT%' then credit_id end)
            over (partition by load_id, source_file, source_row) as covering_commitment_id,
        max(case when credit_type like 'COMMITTED_USAGE_DISCOUNT%' then credit_type end)
            over (partition by load_id, source_file, source_row) as covering_credit_type,
        sum(case when credit_type like 'COMMITTED_USAGE_DISCOUNT%' then -credit_amount end)
            over (partition by load_id, source_file, source_row) as row_discount
    from charges
),

amortized as (
    select
        *,
        case
            when charge_category = 'Purchase' then subscription_instance_id
            when charge_category = 'Usage' then covering_commitment_id
        end as commitment_discount_id,
        sum(case when charge_category = 'Purchase' then cost end)
            over (partition by billing_account_id, invoice_month, coalesce(subscription_instance_id, covering_commitment_id))
            as commitment_fee,
        sum(case when charge_category = 'Usage' then row_discount end)
            over (partition by billing_account_id, invoice_month, coalesce(subscription_instance_id, covering_commitment_id))
            as commitment_discount_total
    from commitments
),

priced as (
    select
        *,
        (
            charge_category in ('Usage', 'Purchase')
            and sku_id is not null
            and pricing_quantity is not null
            and pricing_unit is not null
        ) as has_sku_price,
        case
            when charge_category = 'Credit' then credit_amount
            else cost
        end as billed_cost,
        case
            when charge_category = 'Credit' then credit_amount
            {#- The fee is carried by the usage it covered; without such usage it stays on the fee row. #}
            when charge_category = 'Purchase' and coalesce(commitment_discount_total, 0) > 0 then {{ to_money('0') }}
            when charge_category = 'Usage' and covering_commitment_id is not null and commitment_fee is not null
                and commitment_discount_total > 0
                then cost + {{ to_money('commitment_fee * row_discount / commitment_discount_total') }}
            else cost
        end as effective_cost
    from amortized
),

unit_priced as (
    select
        *,
        {#- ContractedCost is GCP's cost (negotiated prices, before credits); ListCost its cost_at_list. The unit prices
            are those costs per pricing unit, so cost = unit price x quantity holds exactly as FOCUS requires; GCP's
            price.* fields are rounded and tiered, and only stand in where the quantity is 0. #}
        case
            when not has_sku_price then null
            when pricing_quantity <> 0 then cast(cost / pricing_quantity as {{ unit_price_type() }})
            else coalesce(cast(effective_price / coalesce(price_unit_quantity, 1) as {{ unit_price_type() }}), 0)
        end as contracted_unit_price,
        case
            when not has_sku_price then null
            when pricing_quantity <> 0 and cost_at_list is not null
                then cast(cost_at_list / pricing_quantity as {{ unit_price_type() }})
            when pricing_quantity <> 0 then cast(cost / pricing_quantity as {{ unit_price_type() }})
            else coalesce(cast(list_price / coalesce(price_unit_quantity, 1) as {{ unit_price_type() }}), 0)
        end as list_unit_price
    from priced
),

final as (
    select
        {{ charge_id(['billing_account_id', 'invoice_month', 'source_file', 'source_row', 'credit_index']) }} as charge_id,
        'gcp' as provider,
        'gcp_billing_export' as source_system,
        service_description as service_code,
        billing_account_id,
        {# The export has no display name of the billing account: its id stands in. #}
        billing_account_id as billing_account_name,
        'Billing Account' as billing_account_type,
        project_id as sub_account_id,
        project_name as sub_account_name,
        case when project_id is not null then 'Project' end as sub_account_type,
        cast(null as {{ string }}) as invoice_id,
        'Google Cloud' as invoice_issuer_name,
        {#- A Marketplace seller sells the service; Google hosts and invoices it. #}
        coalesce(seller_name, 'Google Cloud') as service_provider_name,
        'Google Cloud' as host_provider_name,
        service_description as service_name,
        charge_category,
        charge_class,
        case
            when charge_category = 'Purchase' then 'Recurring'
            when charge_category = 'Credit' and subscription_instance_id is not null then 'Recurring'
            when charge_category in ('Usage', 'Credit') then 'Usage-Based'
            else 'One-Time'
        end as charge_frequency,
        case
            when charge_category = 'Credit' then credit_name
            when charge_category = 'Adjustment' then coalesce(adjustment_description, sku_description)
            else sku_description
        end as charge_description,
        case
            when not has_sku_price then null
            when charge_category = 'Usage' and commitment_discount_id is not null then 'Committed'
            when lower(sku_description) like '%preemptible%' or lower(sku_description) like '%spot%' then 'Dynamic'
            else 'Standard'
        end as pricing_category,
        case when charge_category not in ('Credit', 'Tax') then sku_id end as sku_id,
        {#- One price per SKU and consumption model (on-demand, or a spend-based commitment's model). #}
        case when has_sku_price then concat(sku_id, coalesce(concat('/', consumption_model_id), '')) end as sku_price_id,
        case when charge_category not in ('Credit', 'Tax') and sku_id is not null then sku_description end as sku_meter,
        case when has_sku_price then
            {{ key_value_json([
                ['x_PriceUnit', 'price_unit'], ['x_ConsumptionModel', 'consumption_model_description'],
                ['x_TierStartAmount', 'tier_start_amount'],
            ]) }}
        end as sku_price_details,
        case when has_sku_price then pricing_unit end as pricing_unit,
        case when has_sku_price and charge_category = 'Usage' and usage_amount is not null then consumed_unit end
            as consumed_unit,
        region_id,
        region_id as region_name,
        availability_zone,
        case when charge_category = 'Purchase' then coalesce(subscription_instance_id, resource_id) else resource_id end
            as resource_id,
        case when charge_category = 'Purchase' then coalesce(resource_name, subscription_instance_id) else resource_name end
            as resource_name,
        cast(null as {{ string }}) as resource_type,
        tags,
        billing_currency,
        cast(null as {{ string }}) as usage_type,
        cast(null as {{ string }}) as operation,
        case when charge_category = 'Credit' then credit_type else cost_type end as line_item_type,
        commitment_discount_id,
        case when commitment_discount_id is not null then
            case when charge_category = 'Purchase' then sku_description else commitment_discount_id end
        end as commitment_discount_name,
        case
            when commitment_discount_id is null then null
            {#- Spend-based commitments discount through COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE credits. #}
            when covering_credit_type = 'COMMITTED_USAGE_DISCOUNT_DOLLAR_BASE' then 'Spend'
            else 'Usage'
        end as commitment_discount_category,
        case when commitment_discount_id is not null then 'Committed Use Discount' end as commitment_discount_type,
        case when commitment_discount_id is not null and charge_category = 'Usage' then 'Used' end
            as commitment_discount_status,
        cast(null as {{ unit_price_type() }}) as commitment_discount_quantity,
        cast(null as {{ string }}) as commitment_discount_unit,
        billed_cost,
        effective_cost,
        case
            when not has_sku_price then billed_cost
            when pricing_quantity <> 0 and cost_at_list is not null then cost_at_list
            when pricing_quantity <> 0 then cost
            else {{ money_product('list_unit_price', 'pricing_quantity') }}
        end as list_cost,
        case
            when not has_sku_price then billed_cost
            when pricing_quantity <> 0 then cost
            else {{ money_product('contracted_unit_price', 'pricing_quantity') }}
        end as contracted_cost,
        list_unit_price,
        contracted_unit_price,
        case when has_sku_price then pricing_quantity end as pricing_quantity,
        case when has_sku_price and charge_category = 'Usage' and consumed_unit is not null then usage_amount end
            as consumed_quantity,
        billing_period_start_at,
        billing_period_end_at,
        charge_period_start_at,
        charge_period_end_at,
        load_id,
        ai_model,
        ai_token_type,
        case when ai_token_type is not null then project_id end as ai_project_id,
        cast(null as {{ string }}) as ai_api_key_id,
        {{ key_value_json([
            ['invoice_month', 'invoice_month'], ['cost_type', 'cost_type'], ['service_id', 'service_id'],
            ['transaction_type', 'transaction_type'], ['credit_type', 'credit_type'], ['credit_id', 'credit_id'],
            ['credit_name', 'credit_name'], ['adjustment_id', 'adjustment_id'], ['adjustment_mode', 'adjustment_mode'],
            ['adjustment_type', 'adjustment_type'], ['consumption_model', 'consumption_model_description'],
            ['subscription_instance_id', 'subscription_instance_id'],
        ]) }} as provider_details
    from unit_priced
)

select * from final
