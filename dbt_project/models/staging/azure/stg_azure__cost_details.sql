{%- set string = dbt.type_string() -%}
{#- Exchange rates get fewer fractional digits than prices, so price × rate stays inside DuckDB's 38 digits. -#}
{%- set rate_type = unit_price_type() if target.type == 'bigquery' else 'decimal(38, 10)' -%}
with source as (
    {{ pinned_source('azure', 'azure_cost_details', [
        ['dataset', string], ['schema', string], ['billing_scope', string], ['billing_period', string],
        ['source_file', string], ['source_row', string],
        ['billing_account_id', string], ['billing_account_name', string],
        ['billing_profile_id', string], ['billing_profile_name', string],
        ['billing_period_start_date', string], ['billing_period_end_date', string], ['charge_date', string],
        ['invoice_id', string], ['partner_name', string], ['subscription_id', string], ['subscription_name', string],
        ['product_name', string], ['product_id', string], ['part_number', string], ['meter_id', string],
        ['meter_category', string], ['meter_sub_category', string], ['meter_region', string], ['meter_name', string],
        ['service_family', string], ['quantity', string], ['unit_price', string], ['effective_price', string],
        ['pay_g_price', string], ['exchange_rate_pricing_to_billing', string], ['cost_in_billing_currency', string],
        ['billing_currency', string], ['resource_location', string], ['availability_zone', string],
        ['consumed_service', string], ['resource_id', string], ['resource_name', string], ['tags', string],
        ['unit_of_measure', string], ['charge_type', string], ['frequency', string], ['pricing_model', string],
        ['term', string], ['publisher_type', string], ['publisher_name', string], ['benefit_id', string],
        ['benefit_name', string], ['reservation_id', string], ['reservation_name', string], ['_dlt_load_id', string],
        ['ai_model', string], ['ai_token_type', string], ['resource_group_name', string],
    ]) }}
),

{#- A FocusCost export of the same billing account and month supersedes these rows (both describe the same
    charges; FocusCost already combines actual and amortized costs), so a tenant exporting both is not counted
    twice. -#}
focus_periods as (
    select distinct billing_scope, billing_period
    from ({{ pinned_source('azure', 'azure_focus_cost', [['billing_scope', string], ['billing_period', string]]) }})
        as focus_cost
),

unsuperseded as (
    select source.*
    from source
    left join focus_periods
        on source.billing_scope = focus_periods.billing_scope
        and source.billing_period = focus_periods.billing_period
    where focus_periods.billing_scope is null
),

flagged as (
    select
        *,
        (charge_type in ('Purchase', 'Refund') and pricing_model in ('Reservation', 'SavingsPlan')) as is_commitment_purchase,
        max(case when dataset = 'amortized' then 1 else 0 end) over (partition by billing_scope, billing_period)
            as has_amortized,
        max(case when dataset = 'actual' then 1 else 0 end) over (partition by billing_scope, billing_period)
            as has_actual
    from unsuperseded
),

{#- Microsoft's rule: all amortized rows, plus the actual rows that are commitment purchases or refunds (the
    amortized dataset spreads them over usage). A commitment purchase in the amortized data is dropped when the
    actual data carries it, so it is never counted twice. Without amortized data the actual rows stand as they are. -#}
selected as (
    select *
    from flagged
    where (dataset = 'amortized' and not (is_commitment_purchase and has_actual = 1))
        or (dataset = 'actual' and (has_amortized = 0 or is_commitment_purchase))
),

renamed as (
    select
        _dlt_load_id as load_id,
        dataset,
        schema,
        billing_period,
        source_file,
        source_row,
        is_commitment_purchase,
        has_amortized,
        billing_scope as billing_account_id,
        case when schema = 'mca' then coalesce(billing_profile_name, billing_account_name) else billing_account_name end
            as billing_account_name,
        case when schema = 'mca' then 'Billing Profile' else 'Billing Account' end as billing_account_type,
        subscription_id as sub_account_id,
        subscription_name as sub_account_name,
        invoice_id,
        {#- A CSP partner invoices its customers; otherwise Microsoft does. -#}
        coalesce(partner_name, 'Microsoft') as invoice_issuer_name,
        {#- A marketplace publisher sells the service; Microsoft hosts it and invoices it. -#}
        case when lower(publisher_type) = 'marketplace' and publisher_name is not null then publisher_name else 'Microsoft' end
            as service_provider_name,
        {#- Azure OpenAI meters (ingestion parsed their model) are Generative AI, not the generic AI services. -#}
        case when ai_model is not null then 'Microsoft.CognitiveServices/OpenAI' else consumed_service end
            as service_code,
        ai_model,
        ai_token_type,
        resource_group_name,
        {#- Rows without a ConsumedService (some purchases, marketplace) are named after their meter category. -#}
        case when consumed_service is null then coalesce(meter_category, 'Microsoft Azure') end as service_name,
        charge_type,
        frequency,
        pricing_model,
        coalesce(product_name, meter_name) as charge_description,
        {#- FOCUS: SkuMeter and SkuPriceId need a SkuId; marketplace rows often have neither product nor part. -#}
        coalesce(product_id, part_number, meter_id) as sku_id,
        meter_id,
        meter_name,
        meter_category,
        meter_sub_category,
        meter_region,
        service_family,
        unit_of_measure,
        term,
        lower(replace(resource_location, ' ', '')) as region_id,
        resource_location as region_name,
        availability_zone,
        resource_id,
        {#- MCA has no ResourceName: the last, most specific segment of the resource id stands in. -#}
        coalesce(resource_name, nullif(regexp_extract(resource_id, '[^/]+$'), '')) as resource_name,
        {#- EA writes tags without the surrounding braces ("k": "v","k2": "v2"); ingestion checked they parse. -#}
        case
            when tags is null or trim(tags) = '' then null
            when starts_with(trim(tags), '{') then trim(tags)
            else concat('{', trim(tags), '}')
        end as tags,
        {#- Cost Management has no ids for untyped benefits in older exports; the reservation id stands in. -#}
        coalesce(benefit_id, reservation_id) as benefit_id,
        coalesce(benefit_name, reservation_name) as benefit_name,
        upper(billing_currency) as billing_currency,
        {{ to_money('cost_in_billing_currency') }} as cost,
        cast(quantity as {{ unit_price_type() }}) as quantity,
        {#- MCA prices are in the pricing currency (USD); the exchange rate brings them to the billing currency. -#}
        cast(pay_g_price as {{ unit_price_type() }}) as payg_price,
        cast(unit_price as {{ unit_price_type() }}) as unit_price,
        cast(effective_price as {{ unit_price_type() }}) as effective_price,
        case when schema = 'mca' then cast(exchange_rate_pricing_to_billing as {{ rate_type }}) end as exchange_rate,
        {{ to_utc_timestamp("concat(billing_period_start_date, 'T00:00:00Z')") }} as billing_period_start_at,
        {#- BillingPeriodEndDate and Date are inclusive days; FOCUS ends are exclusive. -#}
        {{ add_days(to_utc_timestamp("concat(billing_period_end_date, 'T00:00:00Z')"), 1) }} as billing_period_end_at,
        {{ to_utc_timestamp("concat(charge_date, 'T00:00:00Z')") }} as charge_period_start_at,
        {{ add_days(to_utc_timestamp("concat(charge_date, 'T00:00:00Z')"), 1) }} as charge_period_end_at
    from selected
),

categorized as (
    select
        renamed.*,
        (pricing_model in ('Reservation', 'SavingsPlan') or charge_type in ('UnusedReservation', 'UnusedSavingsPlan'))
            as is_commitment,
        case
            when charge_type in ('Usage', 'Purchase', 'Credit', 'Tax') then charge_type
            when charge_type in ('UnusedReservation', 'UnusedSavingsPlan') then 'Usage'
            when charge_type = 'Refund' then 'Purchase'
            else 'Adjustment'
        end as charge_category,
        {#- A refund corrects a purchase invoiced before. -#}
        case when charge_type = 'Refund' then 'Correction' end as charge_class,
        coalesce(units.block_size, 1) as block_size,
        coalesce(units.pricing_unit, renamed.unit_of_measure) as pricing_unit,
        coalesce(units.consumed_unit, renamed.unit_of_measure) as consumed_unit,
        cast(coalesce(payg_price, unit_price, effective_price) * coalesce(exchange_rate, 1) as {{ unit_price_type() }})
            as list_unit_price,
        cast(coalesce(unit_price, effective_price, payg_price) * coalesce(exchange_rate, 1) as {{ unit_price_type() }})
            as contracted_unit_price
    from renamed
    left join {{ ref('azure_pricing_units') }} as units
        on trim(renamed.unit_of_measure) = units.unit_of_measure
),

priced as (
    select
        *,
        (
            charge_category in ('Usage', 'Purchase')
            and meter_id is not null
            and quantity is not null
            and pricing_unit is not null
            and list_unit_price is not null
            and contracted_unit_price is not null
        ) as has_sku_price,
        case when is_commitment then benefit_id end as commitment_discount_id,
        case
            {# Commitment-covered usage and unused commitment were paid by the purchase row (Microsoft zeroes only
                covered usage; an unused row billed again would count the purchase twice). -#}
            when is_commitment and charge_type in ('Usage', 'UnusedReservation', 'UnusedSavingsPlan')
                then {{ to_money('0') }}
            else cost
        end as billed_cost,
        case
            {# The amortized rows carry a commitment purchase's cost, so the purchase itself is no effective cost.
                Without amortized data the purchase is the only trace of that cost and keeps it. -#}
            when is_commitment_purchase and has_amortized = 1 then {{ to_money('0') }}
            else cost
        end as effective_cost
    from categorized
),

final as (
    select
        {{ charge_id(['billing_account_id', 'billing_period', 'dataset', 'source_file', 'source_row']) }} as charge_id,
        'azure' as provider,
        'azure_cost_details' as source_system,
        service_code,
        billing_account_id,
        billing_account_name,
        billing_account_type,
        sub_account_id,
        sub_account_name,
        case when sub_account_id is not null then 'Subscription' end as sub_account_type,
        invoice_id,
        invoice_issuer_name,
        service_provider_name,
        'Microsoft' as host_provider_name,
        service_name,
        charge_category,
        charge_class,
        case
            {# FOCUS: a purchase is never usage-based, whatever Frequency says. -#}
            when charge_category = 'Purchase' and frequency = 'Recurring' then 'Recurring'
            when charge_category = 'Purchase' then 'One-Time'
            when frequency = 'OneTime' then 'One-Time'
            when frequency = 'Recurring' then 'Recurring'
            when frequency = 'UsageBased' or charge_category = 'Usage' then 'Usage-Based'
            else 'One-Time'
        end as charge_frequency,
        charge_description,
        {#- FOCUS 1.3: SKU price, pricing quantity and unit prices are set together or not at all; never on Tax. -#}
        case
            when not has_sku_price then null
            when is_commitment_purchase then 'Standard'
            when is_commitment then 'Committed'
            when pricing_model = 'Spot' then 'Dynamic'
            when pricing_model = 'OnDemand' or pricing_model is null then 'Standard'
            else 'Other'
        end as pricing_category,
        sku_id,
        {#- A price is a meter as sold under one SKU, pricing model and term (FOCUS: one SkuId per SkuPriceId). -#}
        case when has_sku_price then
            coalesce(sku_id || '/', '') || meter_id || coalesce('/' || pricing_model, '') || coalesce('/' || term, '')
        end as sku_price_id,
        case when has_sku_price then meter_name end as sku_meter,
        case when has_sku_price then
            {{ key_value_json([
                ['x_MeterCategory', 'meter_category'], ['x_MeterSubcategory', 'meter_sub_category'],
                ['x_MeterRegion', 'meter_region'], ['x_ServiceFamily', 'service_family'],
                ['x_UnitOfMeasure', 'unit_of_measure'], ['x_Term', 'term'],
            ]) }}
        end as sku_price_details,
        case when has_sku_price then pricing_unit end as pricing_unit,
        case when has_sku_price and charge_type = 'Usage' then consumed_unit end as consumed_unit,
        region_id,
        region_name,
        availability_zone,
        resource_id,
        resource_name,
        cast(null as {{ dbt.type_string() }}) as resource_type,
        tags,
        billing_currency,
        meter_category as usage_type,
        meter_name as operation,
        charge_type as line_item_type,
        commitment_discount_id,
        case when commitment_discount_id is not null then benefit_name end as commitment_discount_name,
        case
            when commitment_discount_id is null then null
            when lower(benefit_id) like '%/microsoft.billingbenefits/%' then 'Spend'
            when lower(benefit_id) like '%/microsoft.capacity/%' then 'Usage'
            when pricing_model = 'SavingsPlan' or charge_type = 'UnusedSavingsPlan' then 'Spend'
            else 'Usage'
        end as commitment_discount_category,
        case
            when commitment_discount_id is null then null
            when lower(benefit_id) like '%/microsoft.billingbenefits/%' then 'Savings Plan'
            when lower(benefit_id) like '%/microsoft.capacity/%' then 'Reservation'
            when pricing_model = 'SavingsPlan' or charge_type = 'UnusedSavingsPlan' then 'Savings Plan'
            else 'Reservation'
        end as commitment_discount_type,
        {#- Status describes usage against a commitment; a purchase row has none. -#}
        case
            when commitment_discount_id is null or charge_category <> 'Usage' then null
            when charge_type in ('UnusedReservation', 'UnusedSavingsPlan') then 'Unused'
            else 'Used'
        end as commitment_discount_status,
        cast(null as {{ unit_price_type() }}) as commitment_discount_quantity,
        cast(null as {{ dbt.type_string() }}) as commitment_discount_unit,
        billed_cost,
        effective_cost,
        case when has_sku_price then {{ money_product('list_unit_price', 'quantity') }} else billed_cost end as list_cost,
        case when has_sku_price then {{ money_product('contracted_unit_price', 'quantity') }} else billed_cost end
            as contracted_cost,
        case when has_sku_price then list_unit_price end as list_unit_price,
        case when has_sku_price then contracted_unit_price end as contracted_unit_price,
        case when has_sku_price then quantity end as pricing_quantity,
        case when has_sku_price and charge_type = 'Usage' then quantity * block_size end as consumed_quantity,
        billing_period_start_at,
        billing_period_end_at,
        charge_period_start_at,
        charge_period_end_at,
        load_id,
        ai_model,
        ai_token_type,
        cast(null as {{ dbt.type_string() }}) as ai_project_id,
        cast(null as {{ dbt.type_string() }}) as ai_api_key_id,
        {{ key_value_json([
            ['x_Dataset', 'dataset'], ['x_Schema', 'schema'], ['x_ChargeType', 'charge_type'],
            ['x_PricingModel', 'pricing_model'], ['x_ResourceGroupName', 'resource_group_name'],
            ['x_SkuMeterCategory', 'meter_category'], ['x_SkuMeterSubcategory', 'meter_sub_category'],
            ['x_SkuMeterName', 'meter_name'], ['x_SkuMeterId', 'meter_id'],
        ]) }} as provider_details
    from priced
)

select * from final
