{%- set string = dbt.type_string() -%}
{%- set bedrock_codes = "'AmazonBedrock', 'AmazonBedrockService', 'AmazonBedrockFoundationModels', 'AmazonBedrockAgentCore'" -%}
{%- set pinned = [
    ['identity_line_item_id', string], ['identity_time_interval', string],
    ['bill_invoice_id', string], ['bill_invoicing_entity', string], ['bill_billing_entity', string],
    ['bill_bill_type', string], ['bill_payer_account_id', string], ['bill_payer_account_name', string],
    ['bill_billing_period_start_date', string], ['bill_billing_period_end_date', string],
    ['line_item_usage_account_id', string], ['line_item_usage_account_name', string],
    ['line_item_line_item_type', string],
    ['line_item_usage_start_date', string], ['line_item_usage_end_date', string],
    ['line_item_product_code', string], ['line_item_usage_type', string], ['line_item_operation', string],
    ['line_item_availability_zone', string], ['line_item_resource_id', string],
    ['line_item_usage_amount', string], ['line_item_currency_code', string],
    ['line_item_unblended_rate', string], ['line_item_unblended_cost', string],
    ['line_item_net_unblended_cost', string], ['line_item_line_item_description', string],
    ['line_item_legal_entity', string], ['product_product_name', string], ['product_region', string],
    ['product_region_code', string],
    ['product_location', string], ['product_sku', string], ['product_product_family', string],
    ['product_instance_type', string], ['product_storage_class', string],
    ['pricing_rate_code', string], ['pricing_rate_id', string], ['pricing_public_on_demand_cost', string],
    ['pricing_public_on_demand_rate', string], ['pricing_term', string], ['pricing_unit', string],
    ['pricing_purchase_option', string],
    ['reservation_reservation_arn', string], ['reservation_effective_cost', string],
    ['reservation_unused_amortized_upfront_fee_for_billing_period', string],
    ['reservation_unused_recurring_fee', string], ['reservation_unused_quantity', string],
    ['savings_plan_savings_plan_arn', string], ['savings_plan_savings_plan_effective_cost', string],
    ['savings_plan_total_commitment_to_date', string], ['savings_plan_used_commitment', string],
    ['resource_tags', string], ['cost_category', string], ['discount', string],
    ['source_file', string], ['_dlt_load_id', string],
] -%}
{%- set source_columns = pinned | map('first') | reject('in', ['source_file', '_dlt_load_id']) | list -%}
with source as (
    {{ pinned_source('aws', 'aws_cur_line_items', pinned) }}
),

{#- AWS's own FOCUS export of the same payer account and billing period supersedes the CUR's rows (both describe
    the same charges), so a tenant delivering both is never counted twice (as Azure FocusCost and OCI FOCUS reports). -#}
focus_periods as (
    {{ aws_focus_export_periods() }}
),

unsuperseded as (
    select source.*
    from source
    left join focus_periods
        on source.bill_payer_account_id = focus_periods.billing_account_id
        and {{ to_utc_timestamp('source.bill_billing_period_start_date') }}
            = {{ to_utc_timestamp('focus_periods.billing_period_start') }}
    where focus_periods.billing_account_id is null
),

renamed as (
    select
        identity_line_item_id as line_item_id,
        identity_time_interval as time_interval,
        _dlt_load_id as load_id,
        {#- Fingerprint of the line: every column read here but the file name and the load id, which change with each
            delivery whatever the line says. A re-delivered month then rebuilds only the days whose lines changed
            (int_focus_changed_units): each row of this model depends on its own line and nothing else. -#}
        {{ row_hash(source_columns) }} as source_row_hash,
        {#- The billing period as delivered: a filter on this bare column reaches the raw scan (see union_charges). -#}
        bill_billing_period_start_date as billing_period_text,
        line_item_product_code as product_code,
        bill_payer_account_id as billing_account_id,
        coalesce(bill_payer_account_name, bill_payer_account_id) as billing_account_name,
        bill_invoice_id as invoice_id,
        coalesce(bill_invoicing_entity, 'AWS') as invoice_issuer_name,
        bill_billing_entity as billing_entity,
        bill_bill_type as bill_type,
        line_item_usage_account_id as sub_account_id,
        coalesce(line_item_usage_account_name, line_item_usage_account_id) as sub_account_name,
        line_item_line_item_type as line_item_type,
        line_item_usage_type as usage_type,
        line_item_operation as operation,
        line_item_line_item_description as charge_description,
        line_item_legal_entity as legal_entity,
        product_product_name as product_name,
        coalesce(product_region_code, product_region) as region_id,
        coalesce(product_location, product_region_code, product_region) as region_name,
        line_item_availability_zone as availability_zone,
        line_item_resource_id as line_resource_id,
        product_sku,
        coalesce(pricing_rate_code, pricing_rate_id) as rate_code,
        product_product_family as product_family,
        product_instance_type as instance_type,
        product_storage_class as storage_class,
        pricing_term,
        pricing_purchase_option as purchase_option,
        {#- FOCUS UnitFormat: Bedrock bills per "1K tokens". -#}
        case when pricing_unit = '1K tokens' then '1000 Tokens' else {{ focus_unit('pricing_unit') }} end
            as pricing_unit,
        resource_tags as tags,
        cost_category,
        discount,
        coalesce(reservation_reservation_arn, savings_plan_savings_plan_arn) as commitment_arn,
        case
            when reservation_reservation_arn is not null then 'reservation'
            when savings_plan_savings_plan_arn is not null then 'savings_plan'
        end as commitment_kind,
        upper(line_item_currency_code) as billing_currency,
        {{ to_money('line_item_unblended_cost') }} as unblended_cost,
        {{ to_money('reservation_effective_cost') }} as reservation_effective_cost,
        {{ to_money('savings_plan_savings_plan_effective_cost') }} as savings_plan_effective_cost,
        {#- AWS's amortisation of a commitment fee: what of the period's commitment went unused. -#}
        case
            when line_item_line_item_type = 'RIFee' then
                {{ to_money("coalesce(reservation_unused_amortized_upfront_fee_for_billing_period, '0')") }}
                + {{ to_money("coalesce(reservation_unused_recurring_fee, '0')") }}
            when line_item_line_item_type = 'SavingsPlanRecurringFee' then
                {{ to_money("coalesce(savings_plan_total_commitment_to_date, '0')") }}
                - {{ to_money("coalesce(savings_plan_used_commitment, '0')") }}
        end as unused_commitment_cost,
        cast(reservation_unused_quantity as {{ unit_price_type() }}) as reservation_unused_quantity,
        cast(pricing_public_on_demand_rate as {{ unit_price_type() }}) as public_on_demand_rate,
        cast(line_item_unblended_rate as {{ unit_price_type() }}) as unblended_rate,
        cast(line_item_usage_amount as {{ unit_price_type() }}) as usage_amount,
        {{ to_utc_timestamp('bill_billing_period_start_date') }} as billing_period_start_at,
        {{ to_utc_timestamp('bill_billing_period_end_date') }} as billing_period_end_at,
        {{ to_utc_timestamp('line_item_usage_start_date') }} as charge_period_start_at,
        {{ to_utc_timestamp('line_item_usage_end_date') }} as charge_period_end_at
    from unsuperseded
),

{#- One FOCUS row per line item, except SavingsPlanNegation (AWS writes one per covered line, equal and opposite:
    FOCUS shows covered usage at BilledCost 0 instead). A RIFee or SavingsPlanRecurringFee line also gives an Unused
    row carrying the unused part of the commitment (FOCUS discount handling). Both come from one pass over the line
    items, each joined to a two-row list of row kinds: a union of two selects from `renamed` would make the warehouse
    materialise every line item to read them twice (at 10M rows DuckDB wrote and spilled 10 GB for it). -#}
row_kinds as (
    select 'charge' as row_kind
    union all
    select 'unused' as row_kind
),

expanded as (
    select renamed.*, row_kinds.row_kind
    from renamed
    cross join row_kinds
    where
        (row_kinds.row_kind = 'charge' and renamed.line_item_type <> 'SavingsPlanNegation')
        or (
            row_kinds.row_kind = 'unused'
            and renamed.line_item_type in ('RIFee', 'SavingsPlanRecurringFee')
            and renamed.unused_commitment_cost <> 0
        )
),

categorized as (
    select
        *,
        case
            when row_kind = 'unused' then 'Usage'
            when line_item_type = 'Tax' then 'Tax'
            when line_item_type in ('Fee', 'RIFee', 'SavingsPlanUpfrontFee', 'SavingsPlanRecurringFee') then 'Purchase'
            when line_item_type in ('Credit', 'Refund', 'BundledDiscount', 'Discount', 'PrivateRateDiscount', 'EdpDiscount')
                then 'Credit'
            when line_item_type in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage') then 'Usage'
            else 'Adjustment'
        end as charge_category,
        {#- A refund gives back money of an already invoiced period. -#}
        case when line_item_type = 'Refund' then 'Correction' end as charge_class,
        case
            when line_item_type in ('DiscountedUsage', 'RIFee', 'SavingsPlanCoveredUsage', 'SavingsPlanRecurringFee',
                                    'SavingsPlanUpfrontFee')
                or (line_item_type = 'Fee' and commitment_kind = 'reservation')
                then commitment_arn
        end as commitment_discount_id,
        coalesce(
            product_code in ({{ bedrock_codes }})
            or (billing_entity = 'AWS Marketplace' and product_name like '%Bedrock Edition%'),
            false
        ) as is_bedrock,
        {#- The marketplace seller is the service provider; AWS invoices it, and hosts what runs on AWS. -#}
        case when billing_entity = 'AWS Marketplace' then coalesce(legal_entity, 'AWS Marketplace') else 'AWS' end
            as service_provider_name
    from expanded
),

costed as (
    select
        *,
        case
            when row_kind = 'unused' or line_item_type = 'SavingsPlanCoveredUsage' then {{ to_money('0') }}
            else unblended_cost
        end as billed_cost,
        case
            when row_kind = 'unused' then unused_commitment_cost
            when line_item_type = 'DiscountedUsage' then coalesce(reservation_effective_cost, unblended_cost)
            when line_item_type = 'SavingsPlanCoveredUsage' then coalesce(savings_plan_effective_cost, unblended_cost)
            {#- The commitment's cost reaches EffectiveCost through covered usage and the Unused row. -#}
            when commitment_discount_id is not null and line_item_type in (
                'RIFee', 'Fee', 'SavingsPlanRecurringFee', 'SavingsPlanUpfrontFee') then {{ to_money('0') }}
            else unblended_cost
        end as effective_cost,
        {#- Purchases and Unused rows have no price list entry: their price is their cost per unit bought. -#}
        case
            when row_kind = 'unused' and commitment_kind = 'reservation'
                then coalesce(nullif(reservation_unused_quantity, 0), nullif(usage_amount, 0), 1)
            when row_kind = 'unused' or charge_category = 'Purchase' then coalesce(nullif(usage_amount, 0), 1)
            else usage_amount
        end as quantity,
        case
            when row_kind = 'unused' or charge_category = 'Purchase' then coalesce(pricing_unit, 'Units')
            else pricing_unit
        end as unit
    from categorized
),

priced as (
    select
        *,
        case
            when row_kind = 'unused' then cast(unused_commitment_cost / quantity as {{ unit_price_type() }})
            when charge_category = 'Purchase' then cast(unblended_cost / quantity as {{ unit_price_type() }})
            else coalesce(public_on_demand_rate, unblended_rate)
        end as list_unit_price,
        case
            when row_kind = 'unused' then cast(unused_commitment_cost / quantity as {{ unit_price_type() }})
            when charge_category = 'Purchase' then cast(unblended_cost / quantity as {{ unit_price_type() }})
            {#- Covered usage is contracted at the on-demand rate: the commitment discount comes after it. -#}
            when line_item_type in ('DiscountedUsage', 'SavingsPlanCoveredUsage')
                then coalesce(public_on_demand_rate, unblended_rate)
            else coalesce(unblended_rate, public_on_demand_rate)
        end as contracted_unit_price,
        coalesce(product_sku, case when charge_category = 'Purchase' or row_kind = 'unused' then usage_type end)
            as sku_id
    from costed
),

flagged as (
    select
        *,
        (
            charge_category in ('Usage', 'Purchase')
            and sku_id is not null
            and (rate_code is not null or charge_category = 'Purchase' or row_kind = 'unused')
            and quantity is not null
            and unit is not null
            and list_unit_price is not null
            and contracted_unit_price is not null
        ) as has_sku_price
    from priced
),

final as (
    select
        {{ charge_id(['source_system', 'billing_account_id', 'charge_line_id', 'time_interval', 'charge_period_start_at']) }}
            as charge_id,
        'aws' as provider,
        source_system,
        {#- Bedrock Edition models are sold by their makers through the marketplace, under opaque product codes. -#}
        case when is_bedrock and billing_entity = 'AWS Marketplace' then 'AmazonBedrock' else product_code end
            as service_code,
        billing_account_id,
        billing_account_name,
        'Payer Account' as billing_account_type,
        sub_account_id,
        sub_account_name,
        case when sub_account_id is not null then 'Usage Account' end as sub_account_type,
        invoice_id,
        invoice_issuer_name,
        service_provider_name,
        case
            when billing_entity <> 'AWS Marketplace' or is_bedrock or line_resource_id is not null then 'AWS'
            else service_provider_name
        end as host_provider_name,
        product_name as service_name,
        charge_category,
        charge_class,
        case
            when charge_category = 'Usage' then 'Usage-Based'
            when line_item_type in ('RIFee', 'SavingsPlanRecurringFee', 'Tax') then 'Recurring'
            when line_item_type in ('BundledDiscount', 'Discount', 'PrivateRateDiscount', 'EdpDiscount') then 'Usage-Based'
            else 'One-Time'
        end as charge_frequency,
        charge_description,
        {#- FOCUS 1.3: SKU price, pricing quantity and unit prices are set together or not at all; never on Tax. -#}
        case
            when not has_sku_price then null
            when row_kind = 'unused' or line_item_type in ('DiscountedUsage', 'SavingsPlanCoveredUsage') then 'Committed'
            when charge_category = 'Purchase' then 'Standard'
            when pricing_term = 'Spot' then 'Dynamic'
            when pricing_term = 'OnDemand' or pricing_term is null then 'Standard'
            else 'Other'
        end as pricing_category,
        case when has_sku_price then sku_id end as sku_id,
        case when has_sku_price then
            coalesce(rate_code, sku_id || '/' || line_item_type) || case when row_kind = 'unused' then '/Unused' else '' end
        end as sku_price_id,
        case when has_sku_price then usage_type end as sku_meter,
        case when has_sku_price then
            {{ key_value_json([['InstanceType', 'instance_type'], ['StorageClass', 'storage_class'], ['x_ProductFamily', 'product_family']]) }}
        end as sku_price_details,
        case when has_sku_price then unit end as pricing_unit,
        {#- FOCUS: nothing is consumed on an Unused commitment row. -#}
        case when has_sku_price and charge_category = 'Usage' and row_kind <> 'unused' then unit end as consumed_unit,
        region_id,
        region_name,
        availability_zone,
        {#- FOCUS: a commitment's purchase and Unused rows name the commitment as their resource. -#}
        case
            when commitment_discount_id is not null and (row_kind = 'unused' or charge_category = 'Purchase')
                then commitment_discount_id
            else line_resource_id
        end as resource_id,
        cast(null as {{ dbt.type_string() }}) as resource_name,
        cast(null as {{ dbt.type_string() }}) as resource_type,
        tags,
        billing_currency,
        usage_type,
        operation,
        line_item_type,
        commitment_discount_id,
        {{ regexp_group('commitment_discount_id', '/([^/]+)$') }} as commitment_discount_name,
        case
            when commitment_discount_id is null then null
            when commitment_kind = 'reservation' then 'Usage'
            else 'Spend'
        end as commitment_discount_category,
        case
            when commitment_discount_id is null then null
            when commitment_kind = 'reservation' then 'Reservation'
            else 'Savings Plan'
        end as commitment_discount_type,
        case
            when commitment_discount_id is null or charge_category <> 'Usage' then null
            when row_kind = 'unused' then 'Unused'
            else 'Used'
        end as commitment_discount_status,
        {#- A reservation counts hours (or normalised units), a savings plan counts money of its commitment. -#}
        case
            when commitment_discount_id is null or not has_sku_price then null
            when commitment_kind = 'reservation' then quantity
            when row_kind = 'unused' then cast(unused_commitment_cost as {{ unit_price_type() }})
            when line_item_type = 'SavingsPlanCoveredUsage' then cast(savings_plan_effective_cost as {{ unit_price_type() }})
            else cast(unblended_cost as {{ unit_price_type() }})
        end as commitment_discount_quantity,
        case
            when commitment_discount_id is null or not has_sku_price then null
            when commitment_kind = 'reservation' then unit
            else billing_currency
        end as commitment_discount_unit,
        billed_cost,
        effective_cost,
        case when has_sku_price then sku_list_cost else billed_cost end as list_cost,
        case
            when not has_sku_price then billed_cost
            {#- Most lines are contracted at their list price: the same exact product, computed once. #}
            when contracted_unit_price = list_unit_price then sku_list_cost
            else {{ money_product('contracted_unit_price', 'quantity') }}
        end as contracted_cost,
        case when has_sku_price then list_unit_price end as list_unit_price,
        case when has_sku_price then contracted_unit_price end as contracted_unit_price,
        case when has_sku_price then quantity end as pricing_quantity,
        case when has_sku_price and charge_category = 'Usage' and row_kind <> 'unused' then quantity end
            as consumed_quantity,
        billing_period_start_at,
        billing_period_end_at,
        charge_period_start_at,
        charge_period_end_at,
        load_id,
        source_row_hash,
        billing_period_text,
        case
            when not is_bedrock then null
            when billing_entity = 'AWS Marketplace' then trim(replace(product_name, '(Amazon Bedrock Edition)', ''))
            else {{ regexp_group('usage_type',
                '^[A-Za-z0-9]+-(.+?)-(?:[Bb]atch-|[Ff]lex-|[Pp]riority-)?(?:[Cc]ache-?[A-Za-z]+-)?(?:[Ii]nput|[Oo]utput)') }}
        end as ai_model,
        case
            when not is_bedrock then null
            when lower(usage_type) like '%cache%read%' then 'cached_input'
            when lower(usage_type) like '%cache%write%' then 'cache_write'
            when lower(usage_type) like '%input%' then 'input'
            when lower(usage_type) like '%output%' then 'output'
        end as ai_token_type,
        cast(null as {{ dbt.type_string() }}) as ai_project_id,
        cast(null as {{ dbt.type_string() }}) as ai_api_key_id,
        {{ key_value_json([
            ['x_BillType', 'bill_type'], ['x_BillingEntity', 'billing_entity'], ['x_LegalEntity', 'legal_entity'],
            ['x_ProductCode', 'product_code'], ['x_PricingTerm', 'pricing_term'], ['x_PurchaseOption', 'purchase_option'],
            ['x_CostCategories', 'cost_category'], ['x_Discounts', 'discount'], ['x_BedrockPricingModel', 'bedrock_pricing_model'],
        ]) }} as provider_details
    from (
        select
            *,
            'aws_cur' as source_system,
            case when row_kind = 'unused' then line_item_id || '/unused' else line_item_id end as charge_line_id,
            case
                when not is_bedrock then null
                when lower(usage_type) like '%batch%' then 'Batch'
                when lower(usage_type) like '%flex%' then 'Flex'
                when lower(usage_type) like '%priority%' then 'Priority'
                when lower(usage_type) like '%latency-optimized%' then 'Latency Optimized'
                when lower(usage_type) like '%modelunits%' or lower(usage_type) like '%reserved%' then 'Provisioned Throughput'
                else 'On-Demand'
            end as bedrock_pricing_model,
            case when has_sku_price then {{ money_product('list_unit_price', 'quantity') }} end as sku_list_cost
        from flagged
    ) as described
)

select * from final
