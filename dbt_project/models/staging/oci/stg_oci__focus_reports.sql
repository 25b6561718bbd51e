{%- set string = dbt.type_string() -%}
with source as (
    {{ pinned_source('oci', 'oci_focus_reports', [
        ['billing_scope', string], ['billing_period', string], ['report_name', string], ['source_file', string],
        ['source_row', string],
        ['billing_account_id', string], ['billing_account_name', string], ['billing_account_type', string],
        ['billing_currency', string], ['billing_period_start', string], ['billing_period_end', string],
        ['charge_period_start', string], ['charge_period_end', string], ['charge_category', string],
        ['charge_class', string], ['charge_description', string], ['charge_frequency', string],
        ['commitment_discount_category', string], ['commitment_discount_id', string],
        ['commitment_discount_name', string], ['commitment_discount_status', string],
        ['commitment_discount_type', string], ['consumed_quantity', string], ['consumed_unit', string],
        ['billed_cost', string], ['effective_cost', string], ['list_cost', string], ['contracted_cost', string],
        ['list_unit_price', string], ['contracted_unit_price', string], ['pricing_quantity', string],
        ['pricing_unit', string], ['pricing_category', string], ['invoice_id', string],
        ['invoice_issuer_name', string], ['provider_name', string], ['publisher_name', string],
        ['service_provider_name', string], ['host_provider_name', string],
        ['region_id', string], ['region_name', string], ['availability_zone', string],
        ['resource_id', string], ['resource_name', string], ['resource_type', string],
        ['service_category', string], ['service_name', string],
        ['sku_id', string], ['sku_price_id', string], ['sku_meter', string], ['sku_price_details_focus', string],
        ['sub_account_id', string], ['sub_account_name', string], ['sub_account_type', string], ['tags', string],
        ['oci_reference_number', string], ['oci_compartment_id', string], ['oci_compartment_name', string],
        ['oci_overage_flag', string], ['oci_unit_price_overage', string], ['oci_billed_quantity_overage', string],
        ['oci_cost_overage', string], ['oci_attributed_usage', string], ['oci_attributed_cost', string],
        ['oci_back_reference_number', string], ['_dlt_load_id', string],
    ]) }}
),

renamed as (
    select
        _dlt_load_id as load_id,
        billing_scope,
        report_name,
        source_row,
        billing_account_id,
        {#- OCI leaves BillingAccountName empty; FOCUS wants a name where accounts can be named: the id stands in. -#}
        coalesce(billing_account_name, billing_account_id) as billing_account_name,
        coalesce(billing_account_type, 'Billing Account') as billing_account_type,
        sub_account_id,
        sub_account_name,
        {#- OCI's FOCUS SubAccount is the tenancy (the cost reports' finer compartment is in provider_details). -#}
        coalesce(sub_account_type, case when sub_account_id like 'ocid1.tenancy.%' then 'Tenancy' when sub_account_id is not null then 'Sub Account' end)
            as sub_account_type,
        invoice_id,
        coalesce(invoice_issuer_name, 'Oracle') as invoice_issuer_name,
        {#- FOCUS 1.3: ServiceProviderName replaces the deprecated Provider(Name); OCI hosts what it sells. -#}
        coalesce(service_provider_name, provider_name, 'Oracle') as service_provider_name,
        coalesce(host_provider_name, provider_name, 'Oracle') as host_provider_name,
        {#- OCI writes its service code (COMPUTE, BLOCK_STORAGE) as ServiceName: the same seed as the cost reports
            names and categorises it. -#}
        upper(service_name) as service_code,
        service_category as delivered_service_category,
        case lower(charge_category)
            when 'usage' then 'Usage'
            when 'purchase' then 'Purchase'
            when 'tax' then 'Tax'
            when 'credit' then 'Credit'
            else 'Adjustment'
        end as charge_category,
        {#- A line pointing back at the line it corrects is a correction, whatever ChargeClass says. -#}
        case when lower(charge_class) = 'correction' or oci_back_reference_number is not null then 'Correction' end
            as charge_class,
        {#- OCI writes 'Usage-based'; FOCUS spells 'Usage-Based'. -#}
        lower(replace(charge_frequency, '-', '')) as frequency_key,
        lower(replace(replace(pricing_category, '-', ''), ' ', '')) as pricing_category_key,
        charge_description,
        sku_id,
        {#- OCI leaves SkuPriceId empty; it prices per part number, so the part number identifies the price. -#}
        coalesce(sku_price_id, sku_id) as sku_price_id,
        coalesce(sku_meter, charge_description) as sku_meter,
        sku_price_details_focus as sku_price_details,
        case pricing_unit
            when 'GB Months' then 'GB-Months'
            when 'GB Hours' then 'GB-Hours'
            when 'Gigabytes Per Hour' then 'GB-Hours'
            when 'TB Months' then 'TB-Months'
            when 'OCPU Hours' then 'OCPU-Hours'
            when 'ECPU Hours' then 'ECPU-Hours'
            when 'Instance per hour' then 'Instance-Hours'
            when 'Node Hours' then 'Node-Hours'
            when 'Million Datapoints' then '1000000 Datapoints'
            when 'GB Of Data Transferred' then 'GB'
            else pricing_unit
        end as pricing_unit,
        region_id,
        coalesce(region_name, region_id) as region_name,
        availability_zone,
        resource_id,
        resource_name,
        coalesce(
            resource_type,
            case when resource_id like 'ocid1.%' then {{ dbt.split_part('resource_id', "'.'", 2) }} end
        ) as resource_type,
        tags,
        upper(billing_currency) as billing_currency,
        commitment_discount_id,
        commitment_discount_name,
        commitment_discount_category,
        commitment_discount_type,
        commitment_discount_status,
        oci_reference_number,
        oci_compartment_id,
        oci_compartment_name,
        oci_overage_flag,
        oci_cost_overage,
        oci_attributed_cost,
        oci_back_reference_number,
        {{ to_money('billed_cost') }} as billed_cost,
        {#- Older reports have no EffectiveCost: nothing is amortised in OCI, so it is the billed cost. -#}
        {{ to_money('coalesce(effective_cost, billed_cost)') }} as effective_cost,
        {{ to_money('list_cost') }} as delivered_list_cost,
        {{ to_money('contracted_cost') }} as delivered_contracted_cost,
        cast(list_unit_price as {{ unit_price_type() }}) as list_unit_price,
        {#- Without ContractedUnitPrice the list price is what OCI states as the rate. -#}
        cast(coalesce(contracted_unit_price, list_unit_price) as {{ unit_price_type() }}) as contracted_unit_price,
        cast(pricing_quantity as {{ unit_price_type() }}) as pricing_quantity,
        cast(consumed_quantity as {{ unit_price_type() }}) as consumed_quantity,
        consumed_unit,
        {{ to_utc_timestamp('billing_period_start') }} as billing_period_start_at,
        {{ to_utc_timestamp('billing_period_end') }} as billing_period_end_at,
        {{ to_utc_timestamp('charge_period_start') }} as charge_period_start_at,
        {{ to_utc_timestamp('charge_period_end') }} as charge_period_end_at
    from source
),

priced as (
    select
        *,
        {#- FOCUS 1.3: SKU price, pricing quantity and unit prices are set together or not at all. -#}
        (
            charge_category in ('Usage', 'Purchase')
            and sku_price_id is not null
            and list_unit_price is not null
            and pricing_quantity is not null
            and pricing_unit is not null
        ) as has_sku_price
    from renamed
),

final as (
    select
        {{ charge_id(['billing_scope', 'report_name', 'source_row']) }} as charge_id,
        'oci' as provider,
        'oci_focus_reports' as source_system,
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
        cast(null as {{ dbt.type_string() }}) as service_name,
        charge_category,
        charge_class,
        case
            when charge_category = 'Purchase' and frequency_key = 'recurring' then 'Recurring'
            when charge_category = 'Purchase' then 'One-Time'
            when frequency_key = 'onetime' then 'One-Time'
            when frequency_key = 'recurring' then 'Recurring'
            when frequency_key = 'usagebased' or charge_category = 'Usage' then 'Usage-Based'
            else 'One-Time'
        end as charge_frequency,
        charge_description,
        {#- OCI leaves PricingCategory empty: preemptible capacity is its spot-like offering, the rest is billed at
            the tenancy's rate (as for the cost reports). -#}
        case
            when not has_sku_price then null
            when pricing_category_key in ('standard', 'ondemand') then 'Standard'
            when pricing_category_key in ('dynamic', 'spot') then 'Dynamic'
            when pricing_category_key in ('committed', 'commitmentbased') then 'Committed'
            when pricing_category_key = 'other' then 'Other'
            when lower(charge_description) like '%preemptible%' then 'Dynamic'
            else 'Standard'
        end as pricing_category,
        sku_id,
        case when has_sku_price then sku_price_id end as sku_price_id,
        case when sku_id is not null then sku_meter end as sku_meter,
        case when has_sku_price then sku_price_details end as sku_price_details,
        case when has_sku_price then pricing_unit end as pricing_unit,
        case when has_sku_price and charge_category = 'Usage' then coalesce(consumed_unit, pricing_unit) end
            as consumed_unit,
        region_id,
        region_name,
        availability_zone,
        resource_id,
        resource_name,
        resource_type,
        tags,
        billing_currency,
        cast(null as {{ dbt.type_string() }}) as usage_type,
        cast(null as {{ dbt.type_string() }}) as operation,
        cast(null as {{ dbt.type_string() }}) as line_item_type,
        commitment_discount_id,
        case when commitment_discount_id is not null then commitment_discount_name end as commitment_discount_name,
        case when commitment_discount_id is not null then commitment_discount_category end as commitment_discount_category,
        case when commitment_discount_id is not null then commitment_discount_type end as commitment_discount_type,
        case
            when commitment_discount_id is null or charge_category <> 'Usage' then null
            when lower(commitment_discount_status) = 'unused' then 'Unused'
            else 'Used'
        end as commitment_discount_status,
        cast(null as {{ unit_price_type() }}) as commitment_discount_quantity,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_unit,
        billed_cost,
        effective_cost,
        case when has_sku_price then {{ money_product('list_unit_price', 'pricing_quantity') }}
            else coalesce(delivered_list_cost, billed_cost) end as list_cost,
        case when has_sku_price then {{ money_product('contracted_unit_price', 'pricing_quantity') }}
            else coalesce(delivered_contracted_cost, billed_cost) end as contracted_cost,
        case when has_sku_price then list_unit_price end as list_unit_price,
        case when has_sku_price then contracted_unit_price end as contracted_unit_price,
        case when has_sku_price then pricing_quantity end as pricing_quantity,
        case when has_sku_price and charge_category = 'Usage' then coalesce(consumed_quantity, pricing_quantity) end
            as consumed_quantity,
        coalesce(billing_period_start_at, {{ month_start('charge_period_start_at') }}) as billing_period_start_at,
        coalesce(billing_period_end_at, {{ add_months(month_start('charge_period_start_at'), 1) }})
            as billing_period_end_at,
        charge_period_start_at,
        charge_period_end_at,
        load_id,
        cast(null as {{ dbt.type_string() }}) as ai_model,
        cast(null as {{ dbt.type_string() }}) as ai_token_type,
        cast(null as {{ dbt.type_string() }}) as ai_project_id,
        cast(null as {{ dbt.type_string() }}) as ai_api_key_id,
        {{ key_value_json([
            ['x_ReferenceNumber', 'oci_reference_number'], ['x_CompartmentId', 'oci_compartment_id'],
            ['x_CompartmentName', 'oci_compartment_name'], ['x_OverageFlag', 'oci_overage_flag'],
            ['x_CostOverage', 'oci_cost_overage'], ['x_AttributedCost', 'oci_attributed_cost'],
            ['x_BackReferenceNumber', 'oci_back_reference_number'],
            ['x_DeliveredServiceCategory', 'delivered_service_category'],
        ]) }} as provider_details
    from priced
)

select * from final
