-- Baseline of the full FOCUS build benchmark: one hand-written DuckDB statement that turns the raw legacy CUR table
-- into the same columns as cost_data_standard_1_3 (FOCUS 1.3 in spec order, then our x_ columns), with the same
-- casts, categorisation, service lookup, tag object and charge id. {raw}, {seed} and {target} are filled in by
-- bench/bench_pipeline.py; the org slug is {slug}.
create or replace table {target} as
with raw as (
    select
        *,
        cast(line_item_unblended_cost as decimal(38, 12)) as unblended_cost,
        cast(line_item_usage_amount as decimal(38, 18)) as usage_amount,
        cast(coalesce(pricing_public_on_demand_rate, line_item_unblended_rate) as decimal(38, 18)) as list_price,
        cast(coalesce(line_item_unblended_rate, pricing_public_on_demand_rate) as decimal(38, 18)) as contracted_price,
        case
            when line_item_line_item_type = 'Tax' then 'Tax'
            when line_item_line_item_type in ('Fee', 'RIFee', 'SavingsPlanUpfrontFee', 'SavingsPlanRecurringFee') then 'Purchase'
            when line_item_line_item_type in ('Credit', 'Refund', 'BundledDiscount', 'Discount', 'PrivateRateDiscount', 'EdpDiscount') then 'Credit'
            when line_item_line_item_type in ('Usage', 'DiscountedUsage', 'SavingsPlanCoveredUsage', 'SavingsPlanNegation') then 'Usage'
            else 'Adjustment'
        end as category
    from {raw}
),

priced as (
    select
        *,
        (
            category in ('Usage', 'Purchase')
            and pricing_rate_code is not null
            and usage_amount is not null
            and pricing_unit is not null
            and list_price is not null
        ) as has_price
    from raw
)

select
    null::varchar as AllocatedMethodDetails, null::varchar as AllocatedMethodId, null::varchar as AllocatedResourceId,
    null::varchar as AllocatedResourceName, null::varchar as AllocatedTags,
    line_item_availability_zone as AvailabilityZone,
    unblended_cost as BilledCost,
    bill_payer_account_id as BillingAccountId,
    bill_payer_account_id as BillingAccountName,
    'Payer Account' as BillingAccountType,
    upper(line_item_currency_code) as BillingCurrency,
    bill_billing_period_end_date::timestamptz as BillingPeriodEnd,
    bill_billing_period_start_date::timestamptz as BillingPeriodStart,
    null::varchar as CapacityReservationId, null::varchar as CapacityReservationStatus,
    category as ChargeCategory,
    case when line_item_line_item_type = 'Refund' then 'Correction' end as ChargeClass,
    line_item_line_item_description as ChargeDescription,
    case
        when category = 'Usage' then 'Usage-Based'
        when line_item_line_item_type in ('RIFee', 'SavingsPlanRecurringFee') or bill_bill_type = 'Anniversary' then 'Recurring'
        else 'One-Time'
    end as ChargeFrequency,
    line_item_usage_end_date::timestamptz as ChargePeriodEnd,
    line_item_usage_start_date::timestamptz as ChargePeriodStart,
    null::varchar as CommitmentDiscountCategory, null::varchar as CommitmentDiscountId,
    null::varchar as CommitmentDiscountName, null::decimal(38, 18) as CommitmentDiscountQuantity,
    null::varchar as CommitmentDiscountStatus, null::varchar as CommitmentDiscountType,
    null::varchar as CommitmentDiscountUnit,
    case when has_price and category = 'Usage' then usage_amount end as ConsumedQuantity,
    case when has_price and category = 'Usage' then pricing_unit end as ConsumedUnit,
    null::varchar as ContractApplied,
    case when has_price then (contracted_price::decimal(38, 12) * usage_amount::decimal(38, 8))::decimal(38, 12) else unblended_cost end
        as ContractedCost,
    case when has_price then contracted_price end as ContractedUnitPrice,
    unblended_cost as EffectiveCost,
    'AWS' as HostProviderName,
    bill_invoice_id as InvoiceId,
    bill_invoicing_entity as InvoiceIssuerName,
    case when has_price then (list_price::decimal(38, 12) * usage_amount::decimal(38, 8))::decimal(38, 12) else unblended_cost end
        as ListCost,
    case when has_price then list_price end as ListUnitPrice,
    case
        when not has_price then null
        when pricing_term = 'Spot' then 'Dynamic'
        when pricing_term = 'Reserved' or line_item_line_item_type in ('DiscountedUsage', 'SavingsPlanCoveredUsage') then 'Committed'
        when pricing_term = 'OnDemand' then 'Standard'
        else 'Other'
    end as PricingCategory,
    upper(line_item_currency_code) as PricingCurrency,
    case when has_price then contracted_price end as PricingCurrencyContractedUnitPrice,
    unblended_cost as PricingCurrencyEffectiveCost,
    case when has_price then list_price end as PricingCurrencyListUnitPrice,
    case when has_price then usage_amount end as PricingQuantity,
    case when has_price then pricing_unit end as PricingUnit,
    case when bill_billing_entity = 'AWS Marketplace' then coalesce(line_item_legal_entity, 'AWS Marketplace') else 'AWS' end
        as ProviderName,
    case when bill_billing_entity = 'AWS Marketplace' then coalesce(line_item_legal_entity, 'AWS Marketplace') else 'AWS' end
        as PublisherName,
    product_region as RegionId,
    coalesce(product_location, product_region) as RegionName,
    line_item_resource_id as ResourceId,
    null::varchar as ResourceName, null::varchar as ResourceType,
    coalesce(seed.service_category, 'Other') as ServiceCategory,
    coalesce(product_product_name, seed.service_name, line_item_product_code) as ServiceName,
    case when bill_billing_entity = 'AWS Marketplace' then coalesce(line_item_legal_entity, 'AWS Marketplace') else 'AWS' end
        as ServiceProviderName,
    coalesce(seed.service_subcategory, 'Other (Other)') as ServiceSubcategory,
    product_sku as SkuId,
    case when has_price then line_item_usage_type end as SkuMeter,
    case when has_price then json_object('InstanceType', product_instance_type, 'StorageClass', null,
        'x_ProductFamily', product_product_family)::varchar end as SkuPriceDetails,
    case when has_price then pricing_rate_code end as SkuPriceId,
    line_item_usage_account_id as SubAccountId,
    line_item_usage_account_id as SubAccountName,
    case when line_item_usage_account_id is not null then 'Usage Account' end as SubAccountType,
    resource_tags as Tags,
    '{slug}' as x_OrgSlug,
    'aws' as x_Provider,
    'aws_cur' as x_SourceSystem,
    md5(coalesce(bill_payer_account_id, '~') || '|' || coalesce(identity_line_item_id, '~') || '|'
        || coalesce(identity_time_interval, '~')) as x_ChargeId,
    line_item_product_code as x_ServiceCode,
    line_item_usage_type as x_UsageType,
    line_item_operation as x_Operation,
    line_item_line_item_type as x_LineItemType,
    null::varchar as x_AiModel, null::varchar as x_AiTokenType, null::varchar as x_AiProjectId,
    null::varchar as x_AiApiKeyId, null::varchar as x_ProviderDetails,
    null::decimal(38, 12) as x_CalculatedCost, null::decimal(38, 12) as x_CostVariance,
    _dlt_load_id as x_LoadId,
    -- The model's fingerprint of the line: the same columns in the same order (those this raw table lacks as nulls).
    cast(hash(
        identity_line_item_id, identity_time_interval, bill_invoice_id, bill_invoicing_entity, bill_billing_entity,
        bill_bill_type, bill_payer_account_id, bill_payer_account_name, bill_billing_period_start_date,
        bill_billing_period_end_date, line_item_usage_account_id, line_item_usage_account_name,
        line_item_line_item_type, line_item_usage_start_date, line_item_usage_end_date, line_item_product_code,
        line_item_usage_type, line_item_operation, line_item_availability_zone, line_item_resource_id,
        line_item_usage_amount, line_item_currency_code, line_item_unblended_rate, line_item_unblended_cost,
        null::varchar /* line_item_net_unblended_cost */, line_item_line_item_description, line_item_legal_entity,
        product_product_name, product_region, product_region_code, product_location, product_sku,
        product_product_family, product_instance_type, null::varchar /* product_storage_class */, pricing_rate_code,
        null::varchar /* pricing_rate_id */, pricing_public_on_demand_cost, pricing_public_on_demand_rate,
        pricing_term, pricing_unit, pricing_purchase_option, reservation_reservation_arn, reservation_effective_cost,
        reservation_unused_amortized_upfront_fee_for_billing_period, reservation_unused_recurring_fee,
        reservation_unused_quantity, savings_plan_savings_plan_arn, savings_plan_savings_plan_effective_cost,
        savings_plan_total_commitment_to_date, savings_plan_used_commitment, resource_tags,
        null::varchar /* cost_category */, null::varchar /* discount */
    ) >> 1 as bigint) as x_SourceRowHash
from priced
left join {seed} as seed on lower(priced.line_item_product_code) = lower(seed.service_code)
