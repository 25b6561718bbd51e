{%- set string = dbt.type_string() -%}
with source as (
    {{ pinned_source('oci', 'oci_cost_reports', [
        ['line_item_reference_no', string], ['line_item_tenant_id', string],
        ['line_item_interval_usage_start', string], ['line_item_interval_usage_end', string],
        ['line_item_is_correction', string], ['line_item_backreference_no', string],
        ['product_service', string], ['product_compartment_id', string], ['product_compartment_name', string],
        ['product_region', string], ['product_availability_domain', string], ['product_resource_id', string],
        ['product_description', string], ['product_part_number', string],
        ['usage_billed_quantity', string], ['usage_billed_quantity_overage', string],
        ['cost_subscription_id', string], ['cost_product_sku', string],
        ['cost_unit_price', string], ['cost_unit_price_overage', string],
        ['cost_my_cost', string], ['cost_my_cost_overage', string], ['cost_currency_code', string],
        ['cost_billing_unit_readable', string], ['cost_sku_unit_description', string], ['cost_overage_flag', string],
        ['tags', string], ['source_file', string], ['_dlt_load_id', string], ['billing_scope', string],
        ['billing_period', string],
    ]) }}
),

{#- FOCUS reports of the same tenancy and month supersede the cost report lines (both describe the same usage),
    so a tenancy whose FOCUS reports are loaded too is not counted twice. -#}
focus_periods as (
    select distinct billing_scope, billing_period
    from ({{ pinned_source('oci', 'oci_focus_reports', [['billing_scope', string], ['billing_period', string]]) }})
        as focus_reports
),

unsuperseded as (
    select source.*
    from source
    left join focus_periods
        on source.billing_scope = focus_periods.billing_scope
        and source.billing_period = focus_periods.billing_period
    where focus_periods.billing_scope is null
),

renamed as (
    select
        _dlt_load_id as load_id,
        line_item_reference_no as reference_no,
        'oci' as provider,
        'oci_cost_reports' as source_system,
        product_service as service_code,
        line_item_tenant_id as tenant_id,
        product_compartment_id as compartment_id,
        product_compartment_name as compartment_name,
        product_region as region_id,
        product_availability_domain as availability_zone,
        product_resource_id as resource_id,
        {#- Cost reports name the part number cost/productSku; product/partNumber is accepted as the same thing. -#}
        coalesce(cost_product_sku, product_part_number) as sku_id,
        product_description as charge_description,
        cost_billing_unit_readable as billing_unit_readable,
        {#- cost/skuUnitDescription is the price-list unit that cost/unitPrice is quoted in (myCost = unitPrice x
            billedQuantity on every sample line), so it is the PricingUnit; labels go to FOCUS UnitFormat where the
            meaning is unambiguous, others pass through. -#}
        case cost_sku_unit_description
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
            else cost_sku_unit_description
        end as pricing_unit,
        tags,
        upper(cost_currency_code) as billing_currency,
        lower(coalesce(line_item_is_correction, 'false')) = 'true' as is_correction,
        {#- OCI states billedQuantity, unitPrice and myCost already include overage: the *Overage columns are a
            breakdown, never added on top. -#}
        {{ to_money('cost_my_cost') }} as billed_cost,
        cast(cost_unit_price as {{ unit_price_type() }}) as unit_price,
        cast(usage_billed_quantity as {{ unit_price_type() }}) as billed_quantity,
        {#- Interval starts come without seconds (2023-11-13T10:00Z), which BigQuery's CAST does not take. -#}
        {{ to_utc_timestamp("case when length(line_item_interval_usage_start) = 17 then concat(substr(line_item_interval_usage_start, 1, 16), ':00Z') else line_item_interval_usage_start end") }}
            as charge_period_start_at,
        {{ to_utc_timestamp("case when length(line_item_interval_usage_end) = 17 then concat(substr(line_item_interval_usage_end, 1, 16), ':00Z') else line_item_interval_usage_end end") }}
            as charge_period_end_at,
        line_item_backreference_no as back_reference_no
    from unsuperseded
),

categorized as (
    select
        *,
        {#- The cost report has no charge type: every line is metered usage, except a negative amount that is not a
            correction (a promotion or credit applied after the fact). Corrections are new lines that point at the
            corrected line (lineItem/backreferenceNo); they are loaded as they come, classed Correction. -#}
        case when billed_cost < 0 and not is_correction then 'Credit' else 'Usage' end as charge_category,
        case when is_correction then 'Correction' end as charge_class,
        {#- Preemptible capacity is OCI's spot-like, discounted offering; everything else is billed at the tenancy's
            agreed rate. -#}
        case when lower(charge_description) like '%preemptible%' then 'Dynamic' else 'Standard' end
            as pricing_category_candidate,
        {#- The root compartment carries the tenancy's name: the best display name the report offers. -#}
        max(case when compartment_id = tenant_id then compartment_name end) over (partition by tenant_id)
            as tenancy_name
    from renamed
),

final as (
    select
        {{ charge_id(['source_system', 'tenant_id', 'reference_no', 'charge_period_start_at']) }} as charge_id,
        provider,
        source_system,
        service_code,
        {#- The tenancy is the account the reports (and compartments) belong to; cost/subscriptionId is finer-grained
            contract data that several tenancies may share. -#}
        tenant_id as billing_account_id,
        coalesce(tenancy_name, tenant_id) as billing_account_name,
        'Tenancy' as billing_account_type,
        compartment_id as sub_account_id,
        coalesce(compartment_name, compartment_id) as sub_account_name,
        case when compartment_id is not null then 'Compartment' end as sub_account_type,
        cast(null as {{ dbt.type_string() }}) as invoice_id,
        'Oracle' as invoice_issuer_name,
        'Oracle' as service_provider_name,
        'Oracle' as host_provider_name,
        {#- product/service is a code (COMPUTE, BLOCK_STORAGE): the display name comes from the service seed. -#}
        cast(null as {{ dbt.type_string() }}) as service_name,
        charge_category,
        charge_class,
        case when charge_category = 'Usage' then 'Usage-Based' else 'One-Time' end as charge_frequency,
        charge_description,
        {#- FOCUS 1.3: SKU price, pricing quantity and unit prices are set together or not at all. -#}
        case when has_sku_price then pricing_category_candidate end as pricing_category,
        sku_id,
        {#- OCI prices per part number: the part number identifies the price. -#}
        case when has_sku_price then sku_id end as sku_price_id,
        {#- FOCUS: SkuMeter SHOULD be set whenever SkuId is (also on credits, which have no SKU price). -#}
        case when sku_id is not null then charge_description end as sku_meter,
        case when has_sku_price then {{ key_value_json([['x_BillingUnitReadable', 'billing_unit_readable']]) }} end
            as sku_price_details,
        case when has_sku_price then pricing_unit end as pricing_unit,
        case when has_sku_price and charge_category = 'Usage' then pricing_unit end as consumed_unit,
        region_id,
        {#- OCI region identifiers (us-sanjose-1) are also their display names in the report. -#}
        region_id as region_name,
        availability_zone,
        resource_id,
        cast(null as {{ dbt.type_string() }}) as resource_name,
        {#- An OCID names its resource type: ocid1.<type>.oc1... -#}
        case when resource_id like 'ocid1.%' then {{ dbt.split_part('resource_id', "'.'", 2) }} end as resource_type,
        tags,
        billing_currency,
        cast(null as {{ dbt.type_string() }}) as usage_type,
        cast(null as {{ dbt.type_string() }}) as operation,
        cast(null as {{ dbt.type_string() }}) as line_item_type,
        {#- The cost report carries no commitment discounts (Universal Credits are a contract rate, not a FOCUS
            commitment discount). -#}
        cast(null as {{ dbt.type_string() }}) as commitment_discount_id,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_name,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_category,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_type,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_status,
        cast(null as {{ unit_price_type() }}) as commitment_discount_quantity,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_unit,
        billed_cost,
        {#- myCost is already the cost at the tenancy's rate and nothing is amortised: effective = billed. -#}
        billed_cost as effective_cost,
        {#- The report has no list price (a price-list join would be needed): the contracted unit price stands in,
            so ListCost equals ContractedCost and OCI discounts are not visible yet. -#}
        case when has_sku_price then {{ money_product('unit_price', 'billed_quantity') }} else billed_cost end as list_cost,
        case when has_sku_price then {{ money_product('unit_price', 'billed_quantity') }} else billed_cost end
            as contracted_cost,
        case when has_sku_price then unit_price end as list_unit_price,
        case when has_sku_price then unit_price end as contracted_unit_price,
        case when has_sku_price then billed_quantity end as pricing_quantity,
        case when has_sku_price and charge_category = 'Usage' then billed_quantity end as consumed_quantity,
        {#- OCI bills by calendar month (UTC) of the usage interval. -#}
        {{ month_start('charge_period_start_at') }} as billing_period_start_at,
        {{ add_months(month_start('charge_period_start_at'), 1) }} as billing_period_end_at,
        charge_period_start_at,
        charge_period_end_at,
        load_id,
        cast(null as {{ dbt.type_string() }}) as ai_model,
        cast(null as {{ dbt.type_string() }}) as ai_token_type,
        cast(null as {{ dbt.type_string() }}) as ai_project_id,
        cast(null as {{ dbt.type_string() }}) as ai_api_key_id,
        {{ key_value_json([
            ['x_ReferenceNumber', 'reference_no'], ['x_CompartmentId', 'compartment_id'],
            ['x_CompartmentName', 'compartment_name'], ['x_BackReferenceNumber', 'back_reference_no'],
        ]) }} as provider_details
    from (
        select
            *,
            (
                charge_category = 'Usage'
                and sku_id is not null
                and unit_price is not null
                and billed_quantity is not null
                and pricing_unit is not null
            ) as has_sku_price
        from categorized
    ) as priced
)

select * from final
