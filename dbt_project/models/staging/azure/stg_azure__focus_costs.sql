{%- set string = dbt.type_string() -%}
with source as (
    {{ pinned_source('azure', 'azure_focus_cost', [
        ['dataset', string], ['focus_version', string], ['billing_scope', string], ['billing_period', string],
        ['source_file', string], ['source_row', string], ['ai_model', string], ['ai_token_type', string],
        ['billing_account_id', string], ['billing_account_name', string], ['billing_account_type', string],
        ['billing_currency', string], ['billing_period_start', string], ['billing_period_end', string],
        ['charge_period_start', string], ['charge_period_end', string], ['charge_category', string],
        ['charge_class', string], ['charge_description', string], ['charge_frequency', string],
        ['commitment_discount_category', string], ['commitment_discount_id', string],
        ['commitment_discount_name', string], ['commitment_discount_status', string],
        ['commitment_discount_type', string], ['commitment_discount_quantity', string],
        ['commitment_discount_unit', string], ['consumed_quantity', string], ['consumed_unit', string],
        ['billed_cost', string], ['effective_cost', string], ['list_cost', string], ['contracted_cost', string],
        ['list_unit_price', string], ['contracted_unit_price', string], ['pricing_quantity', string],
        ['pricing_unit', string], ['pricing_category', string], ['invoice_id', string], ['x_invoice_id', string],
        ['invoice_issuer_name', string], ['provider_name', string], ['publisher_name', string],
        ['service_provider_name', string], ['host_provider_name', string],
        ['region_id', string], ['region_name', string], ['availability_zone', string],
        ['resource_id', string], ['resource_name', string], ['resource_type', string],
        ['service_category', string], ['service_subcategory', string], ['service_name', string],
        ['sku_id', string], ['sku_price_id', string], ['sku_meter', string], ['sku_price_details_focus', string],
        ['sub_account_id', string], ['sub_account_name', string], ['sub_account_type', string], ['tags', string],
        ['x_billing_profile_id', string], ['x_publisher_category', string], ['x_resource_type', string],
        ['x_resource_group_name', string], ['x_sku_meter_category', string], ['x_sku_meter_subcategory', string],
        ['x_sku_meter_name', string], ['x_sku_meter_id', string], ['x_sku_part_number', string],
        ['x_invoice_section_name', string], ['x_pricing_block_size', string], ['x_billed_cost_in_usd', string],
        ['x_effective_cost_in_usd', string], ['x_pricing_currency', string], ['x_sku_term', string],
        ['_dlt_load_id', string],
    ]) }}
),

renamed as (
    select
        _dlt_load_id as load_id,
        source_file,
        source_row,
        billing_period,
        focus_version,
        billing_scope as billing_account_id,
        billing_account_name,
        coalesce(
            billing_account_type,
            case when x_billing_profile_id = billing_account_id then 'Billing Profile' else 'Billing Account' end
        ) as billing_account_type,
        sub_account_id,
        sub_account_name,
        coalesce(sub_account_type, case when sub_account_id is not null then 'Subscription' end) as sub_account_type,
        {#- FocusCost 1.0/1.0r2 carry the invoice as x_InvoiceId; 1.2 as InvoiceId. -#}
        coalesce(invoice_id, x_invoice_id) as invoice_id,
        coalesce(invoice_issuer_name, 'Microsoft') as invoice_issuer_name,
        {#- FOCUS 1.3 splits the deprecated ProviderName/PublisherName into the seller (ServiceProviderName) and the
            host (HostProviderName). Microsoft's x_PublisherCategory 'Vendor' marks marketplace rows: the vendor
            sells, Microsoft hosts. -#}
        coalesce(
            service_provider_name,
            case
                when lower(x_publisher_category) = 'vendor' and publisher_name is not null then publisher_name
                else provider_name
            end,
            'Microsoft'
        ) as service_provider_name,
        coalesce(host_provider_name, provider_name, 'Microsoft') as host_provider_name,
        ai_model,
        ai_token_type,
        {#- The resource provider namespace of x_ResourceType keys the same service seed as ConsumedService in the
            cost details exports, so both exports categorise alike; Azure OpenAI rows get their own key. -#}
        case
            when ai_model is not null then 'Microsoft.CognitiveServices/OpenAI'
            when x_resource_type like '%/%' then {{ dbt.split_part('x_resource_type', "'/'", 1) }}
            else x_resource_type
        end as service_code,
        {#- The seed names the service where the resource type is known (one ServiceName, one category); rows
            without one (tax, some purchases) keep Microsoft's name. -#}
        case when ai_model is null and x_resource_type is null then service_name end as service_name,
        service_category as delivered_service_category,
        case lower(charge_category)
            when 'usage' then 'Usage'
            when 'purchase' then 'Purchase'
            when 'tax' then 'Tax'
            when 'credit' then 'Credit'
            else 'Adjustment'
        end as charge_category,
        case when lower(charge_class) = 'correction' then 'Correction' end as charge_class,
        lower(replace(charge_frequency, '-', '')) as frequency_key,
        lower(replace(replace(pricing_category, '-', ''), ' ', '')) as pricing_category_key,
        charge_description,
        coalesce(sku_id, x_sku_part_number, x_sku_meter_id) as sku_id,
        {#- Microsoft leaves SkuPriceId empty on some rows (EA): the SKU and meter stand in, as in the cost details. -#}
        coalesce(
            sku_price_id,
            case when x_sku_meter_id is not null then coalesce(coalesce(sku_id, x_sku_part_number) || '/', '') || x_sku_meter_id end
        ) as sku_price_id,
        coalesce(sku_meter, x_sku_meter_name) as sku_meter,
        sku_price_details_focus as sku_price_details,
        coalesce(units.pricing_unit, source.pricing_unit) as pricing_unit,
        source.consumed_unit,
        lower(region_id) as region_id,
        region_name,
        availability_zone,
        resource_id,
        resource_name,
        coalesce(resource_type, x_resource_type) as resource_type,
        tags,
        upper(billing_currency) as billing_currency,
        x_sku_meter_category,
        x_sku_meter_subcategory,
        x_sku_meter_name,
        x_sku_meter_id,
        x_resource_group_name,
        x_invoice_section_name,
        x_pricing_block_size,
        x_billed_cost_in_usd,
        x_effective_cost_in_usd,
        x_publisher_category,
        commitment_discount_id,
        commitment_discount_name,
        commitment_discount_status,
        coalesce(
            commitment_discount_category,
            case
                when lower(commitment_discount_id) like '%/microsoft.billingbenefits/%' then 'Spend'
                when commitment_discount_id is not null then 'Usage'
            end
        ) as commitment_discount_category,
        coalesce(
            commitment_discount_type,
            case
                when lower(commitment_discount_id) like '%/microsoft.billingbenefits/%' then 'Savings Plan'
                when commitment_discount_id is not null then 'Reservation'
            end
        ) as commitment_discount_type,
        cast(commitment_discount_quantity as {{ unit_price_type() }}) as commitment_discount_quantity,
        commitment_discount_unit,
        {{ to_money('billed_cost') }} as billed_cost,
        {#- EffectiveCost is Mandatory since FOCUS 1.0; a file without it stands at its billed amounts. -#}
        {{ to_money('coalesce(effective_cost, billed_cost)') }} as effective_cost,
        {{ to_money('list_cost') }} as delivered_list_cost,
        {{ to_money('contracted_cost') }} as delivered_contracted_cost,
        cast(list_unit_price as {{ unit_price_type() }}) as list_unit_price,
        cast(coalesce(contracted_unit_price, list_unit_price) as {{ unit_price_type() }}) as contracted_unit_price,
        cast(pricing_quantity as {{ unit_price_type() }}) as pricing_quantity,
        cast(consumed_quantity as {{ unit_price_type() }}) as consumed_quantity,
        {{ to_utc_timestamp('billing_period_start') }} as billing_period_start_at,
        {{ to_utc_timestamp('billing_period_end') }} as billing_period_end_at,
        {{ to_utc_timestamp('charge_period_start') }} as charge_period_start_at,
        {{ to_utc_timestamp('charge_period_end') }} as charge_period_end_at
    from source
    {# FocusCost 1.0 wrote some PricingUnits as Cost Management's UnitOfMeasure ("1 Hour", "10K"): the same seed
        as the cost details turns them into FOCUS units. #}
    left join {{ ref('azure_pricing_units') }} as units
        on trim(source.pricing_unit) = units.unit_of_measure
),

priced as (
    select
        *,
        {#- FOCUS 1.3: SKU price, pricing quantity and unit prices are set together or not at all. -#}
        (
            charge_category in ('Usage', 'Purchase')
            and sku_price_id is not null
            and list_unit_price is not null
            and contracted_unit_price is not null
            and pricing_quantity is not null
            and pricing_unit is not null
        ) as has_sku_price
    from renamed
),

final as (
    select
        {{ charge_id(['billing_account_id', 'billing_period', 'source_file', 'source_row']) }} as charge_id,
        'azure' as provider,
        'azure_focus_cost' as source_system,
        service_code,
        billing_account_id,
        billing_account_name,
        billing_account_type,
        sub_account_id,
        sub_account_name,
        sub_account_type,
        invoice_id,
        invoice_issuer_name,
        service_provider_name,
        host_provider_name,
        service_name,
        charge_category,
        charge_class,
        case
            {# FOCUS: a purchase is never usage-based. -#}
            when charge_category = 'Purchase' and frequency_key = 'recurring' then 'Recurring'
            when charge_category = 'Purchase' then 'One-Time'
            when frequency_key = 'onetime' then 'One-Time'
            when frequency_key = 'recurring' then 'Recurring'
            when frequency_key = 'usagebased' or charge_category = 'Usage' then 'Usage-Based'
            else 'One-Time'
        end as charge_frequency,
        charge_description,
        case
            when not has_sku_price then null
            when pricing_category_key in ('standard', 'ondemand') then 'Standard'
            when pricing_category_key in ('dynamic', 'spot') then 'Dynamic'
            when pricing_category_key in ('committed', 'commitmentbased') then 'Committed'
            when pricing_category_key = 'other' then 'Other'
            when commitment_discount_id is not null and charge_category = 'Usage' then 'Committed'
            else 'Standard'
        end as pricing_category,
        sku_id,
        case when has_sku_price then sku_price_id end as sku_price_id,
        case when sku_id is not null then sku_meter end as sku_meter,
        case when has_sku_price then sku_price_details end as sku_price_details,
        case when has_sku_price then pricing_unit end as pricing_unit,
        {#- FOCUS: no consumed quantity on the unused part of a commitment. -#}
        case when has_sku_price and charge_category = 'Usage' and lower(coalesce(commitment_discount_status, '')) <> 'unused'
            then consumed_unit end as consumed_unit,
        region_id,
        region_name,
        availability_zone,
        resource_id,
        resource_name,
        resource_type,
        tags,
        billing_currency,
        x_sku_meter_category as usage_type,
        x_sku_meter_name as operation,
        cast(null as {{ dbt.type_string() }}) as line_item_type,
        commitment_discount_id,
        case when commitment_discount_id is not null then commitment_discount_name end as commitment_discount_name,
        case when commitment_discount_id is not null then commitment_discount_category end as commitment_discount_category,
        case when commitment_discount_id is not null then commitment_discount_type end as commitment_discount_type,
        {#- Status describes usage against a commitment; a purchase row has none. -#}
        case
            when commitment_discount_id is null or charge_category <> 'Usage' then null
            when lower(commitment_discount_status) = 'unused' then 'Unused'
            else 'Used'
        end as commitment_discount_status,
        case when has_sku_price and commitment_discount_id is not null then commitment_discount_quantity end
            as commitment_discount_quantity,
        case when has_sku_price and commitment_discount_id is not null and commitment_discount_quantity is not null
            then commitment_discount_unit end as commitment_discount_unit,
        billed_cost,
        effective_cost,
        {#- FOCUS 1.3: ListCost = ListUnitPrice x PricingQuantity (corrections included); unpriced rows keep the
            delivered amount, else the billed one. -#}
        case when has_sku_price then {{ money_product('list_unit_price', 'pricing_quantity') }}
            else coalesce(delivered_list_cost, billed_cost) end as list_cost,
        case when has_sku_price then {{ money_product('contracted_unit_price', 'pricing_quantity') }}
            else coalesce(delivered_contracted_cost, billed_cost) end as contracted_cost,
        case when has_sku_price then list_unit_price end as list_unit_price,
        case when has_sku_price then contracted_unit_price end as contracted_unit_price,
        case when has_sku_price then pricing_quantity end as pricing_quantity,
        case when has_sku_price and charge_category = 'Usage' and lower(coalesce(commitment_discount_status, '')) <> 'unused'
            then consumed_quantity end as consumed_quantity,
        billing_period_start_at,
        coalesce(billing_period_end_at, {{ add_months('billing_period_start_at', 1) }}) as billing_period_end_at,
        charge_period_start_at,
        charge_period_end_at,
        load_id,
        ai_model,
        ai_token_type,
        cast(null as {{ dbt.type_string() }}) as ai_project_id,
        cast(null as {{ dbt.type_string() }}) as ai_api_key_id,
        {{ key_value_json([
            ['x_FocusVersion', 'focus_version'], ['x_DeliveredServiceCategory', 'delivered_service_category'],
            ['x_ResourceGroupName', 'x_resource_group_name'], ['x_SkuMeterCategory', 'x_sku_meter_category'],
            ['x_SkuMeterSubcategory', 'x_sku_meter_subcategory'], ['x_SkuMeterName', 'x_sku_meter_name'],
            ['x_SkuMeterId', 'x_sku_meter_id'], ['x_InvoiceSectionName', 'x_invoice_section_name'],
            ['x_PricingBlockSize', 'x_pricing_block_size'], ['x_BilledCostInUsd', 'x_billed_cost_in_usd'],
            ['x_EffectiveCostInUsd', 'x_effective_cost_in_usd'], ['x_PublisherCategory', 'x_publisher_category'],
        ]) }} as provider_details
    from priced
)

select * from final
