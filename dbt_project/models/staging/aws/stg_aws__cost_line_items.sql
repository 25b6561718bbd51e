{%- set string = dbt.type_string() -%}
with source as (
    {{ pinned_source('aws', 'aws_cur_line_items', [
        ['identity_line_item_id', string], ['identity_time_interval', string],
        ['bill_invoice_id', string], ['bill_invoicing_entity', string], ['bill_billing_entity', string],
        ['bill_bill_type', string], ['bill_payer_account_id', string],
        ['bill_billing_period_start_date', string], ['bill_billing_period_end_date', string],
        ['line_item_usage_account_id', string], ['line_item_line_item_type', string],
        ['line_item_usage_start_date', string], ['line_item_usage_end_date', string],
        ['line_item_product_code', string], ['line_item_usage_type', string], ['line_item_operation', string],
        ['line_item_availability_zone', string], ['line_item_resource_id', string],
        ['line_item_usage_amount', string], ['line_item_currency_code', string],
        ['line_item_unblended_rate', string], ['line_item_unblended_cost', string],
        ['line_item_net_unblended_cost', string], ['line_item_line_item_description', string],
        ['line_item_legal_entity', string], ['product_product_name', string], ['product_region', string],
        ['product_location', string], ['product_sku', string], ['product_product_family', string],
        ['product_instance_type', string], ['product_storage_class', string],
        ['pricing_rate_code', string], ['pricing_rate_id', string], ['pricing_public_on_demand_cost', string],
        ['pricing_public_on_demand_rate', string], ['pricing_term', string], ['pricing_unit', string],
        ['resource_tags', string], ['source_file', string], ['_dlt_load_id', string],
    ]) }}
),

renamed as (
    select
        identity_line_item_id as line_item_id,
        identity_time_interval as time_interval,
        'aws' as provider,
        _dlt_load_id as load_id,
        'aws_cur' as source_system,
        line_item_product_code as service_code,
        bill_payer_account_id as billing_account_id,
        bill_invoice_id as invoice_id,
        bill_invoicing_entity as invoice_issuer_name,
        bill_billing_entity as billing_entity,
        bill_bill_type as bill_type,
        line_item_usage_account_id as sub_account_id,
        line_item_line_item_type as line_item_type,
        line_item_usage_type as usage_type,
        line_item_operation as operation,
        line_item_line_item_description as charge_description,
        line_item_legal_entity as legal_entity,
        product_product_name as service_name,
        product_region as region_id,
        coalesce(product_location, product_region) as region_name,
        line_item_availability_zone as availability_zone,
        line_item_resource_id as resource_id,
        product_sku as sku_id,
        coalesce(pricing_rate_code, pricing_rate_id) as rate_code,
        product_product_family as product_family,
        product_instance_type as instance_type,
        product_storage_class as storage_class,
        pricing_term,
        {{ focus_unit('pricing_unit') }} as pricing_unit,
        resource_tags as tags,
        upper(line_item_currency_code) as billing_currency,
        {{ to_money('coalesce(line_item_net_unblended_cost, line_item_unblended_cost)') }} as billed_cost,
        {{ to_money('line_item_unblended_cost') }} as unblended_cost,
        {{ to_money('pricing_public_on_demand_cost') }} as public_on_demand_cost,
        cast(pricing_public_on_demand_rate as {{ unit_price_type() }}) as public_on_demand_rate,
        cast(line_item_unblended_rate as {{ unit_price_type() }}) as unblended_rate,
        cast(line_item_usage_amount as {{ unit_price_type() }}) as usage_amount,
        {{ to_utc_timestamp('bill_billing_period_start_date') }} as billing_period_start_at,
        {{ to_utc_timestamp('bill_billing_period_end_date') }} as billing_period_end_at,
        {{ to_utc_timestamp('line_item_usage_start_date') }} as charge_period_start_at,
        {{ to_utc_timestamp('line_item_usage_end_date') }} as charge_period_end_at
    from source
),

categorized as (
    select
        *,
        case
            when line_item_type = 'Tax' then 'Tax'
            when line_item_type in ('Fee', 'RIFee', 'SavingsPlanUpfrontFee', 'SavingsPlanRecurringFee') then 'Purchase'
            when line_item_type in ('Credit', 'Refund', 'BundledDiscount', 'Discount', 'PrivateRateDiscount', 'EdpDiscount')
                then 'Credit'
            when line_item_type in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage', 'SavingsPlanNegation') then 'Usage'
            else 'Adjustment'
        end as charge_category,
        {#- A refund corrects an already invoiced period. -#}
        case when line_item_type = 'Refund' then 'Correction' end as charge_class,
        case
            when line_item_type = 'Tax' then null
            when pricing_term = 'Spot' then 'Dynamic'
            when pricing_term = 'Reserved' or line_item_type in ('DiscountedUsage', 'SavingsPlanCoveredUsage') then 'Committed'
            when pricing_term = 'OnDemand' then 'Standard'
            else 'Other'
        end as pricing_category_candidate,
        {#- The marketplace seller is the service provider; AWS hosts it and issues the invoice. -#}
        case when billing_entity = 'AWS Marketplace' then coalesce(legal_entity, 'AWS Marketplace') else 'AWS' end
            as service_provider_name
    from renamed
),

final as (
    select
        {{ charge_id(['source_system', 'billing_account_id', 'line_item_id', 'time_interval', 'charge_period_start_at']) }}
            as charge_id,
        provider,
        source_system,
        service_code,
        billing_account_id,
        {#- Legacy CUR carries no account names: the id is the display name until the tenant names it. -#}
        billing_account_id as billing_account_name,
        'Payer Account' as billing_account_type,
        sub_account_id,
        sub_account_id as sub_account_name,
        case when sub_account_id is not null then 'Usage Account' end as sub_account_type,
        invoice_id,
        invoice_issuer_name,
        service_provider_name,
        'AWS' as host_provider_name,
        service_name,
        charge_category,
        charge_class,
        case
            when charge_category = 'Usage' then 'Usage-Based'
            when line_item_type in ('RIFee', 'SavingsPlanRecurringFee') or bill_type = 'Anniversary' then 'Recurring'
            else 'One-Time'
        end as charge_frequency,
        charge_description,
        {#- FOCUS 1.3: SKU price, pricing quantity and unit prices are set together or not at all; never on Tax. -#}
        case when has_sku_price then pricing_category_candidate end as pricing_category,
        sku_id,
        case when has_sku_price then rate_code end as sku_price_id,
        case when has_sku_price then usage_type end as sku_meter,
        case when has_sku_price then
            {{ key_value_json([['InstanceType', 'instance_type'], ['StorageClass', 'storage_class'], ['x_ProductFamily', 'product_family']]) }}
        end as sku_price_details,
        case when has_sku_price then pricing_unit end as pricing_unit,
        case when has_sku_price and charge_category = 'Usage' then pricing_unit end as consumed_unit,
        region_id,
        region_name,
        availability_zone,
        resource_id,
        cast(null as {{ dbt.type_string() }}) as resource_name,
        cast(null as {{ dbt.type_string() }}) as resource_type,
        tags,
        billing_currency,
        usage_type,
        operation,
        line_item_type,
        {#- Commitment discounts (RI and Savings Plans amortisation) are not in this source's rows yet. -#}
        cast(null as {{ dbt.type_string() }}) as commitment_discount_id,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_name,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_category,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_type,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_status,
        cast(null as {{ unit_price_type() }}) as commitment_discount_quantity,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_unit,
        billed_cost,
        {#- Without commitments in these rows, the amortised cost is the billed cost. -#}
        billed_cost as effective_cost,
        case when has_sku_price then {{ money_product('list_unit_price', 'usage_amount') }} else billed_cost end as list_cost,
        case when has_sku_price then {{ money_product('contracted_unit_price', 'usage_amount') }} else billed_cost end
            as contracted_cost,
        case when has_sku_price then list_unit_price end as list_unit_price,
        case when has_sku_price then contracted_unit_price end as contracted_unit_price,
        case when has_sku_price then usage_amount end as pricing_quantity,
        case when has_sku_price and charge_category = 'Usage' then usage_amount end as consumed_quantity,
        billing_period_start_at,
        billing_period_end_at,
        charge_period_start_at,
        charge_period_end_at,
        load_id,
        cast(null as {{ dbt.type_string() }}) as ai_model,
        cast(null as {{ dbt.type_string() }}) as ai_token_type,
        cast(null as {{ dbt.type_string() }}) as ai_project_id,
        cast(null as {{ dbt.type_string() }}) as ai_api_key_id,
        cast(null as {{ dbt.type_string() }}) as provider_details
    from (
        select
            *,
            coalesce(public_on_demand_rate, unblended_rate) as list_unit_price,
            coalesce(unblended_rate, public_on_demand_rate) as contracted_unit_price,
            (
                charge_category in ('Usage', 'Purchase')
                and rate_code is not null
                and usage_amount is not null
                and pricing_unit is not null
                and coalesce(public_on_demand_rate, unblended_rate) is not null
            ) as has_sku_price
        from categorized
    ) as priced
)

select * from final
