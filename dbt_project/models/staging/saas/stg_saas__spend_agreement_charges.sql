{# SaaS spend agreements → monthly usage charges, unused-commitment fees and (prepaid) the up-front purchase.
    Rules in _saas__models.yml; FOCUS spec appendix saas_examples/spend_agreements (scenarios A1, A2, B1, B2). -#}
{%- set string = dbt.type_string() -%}
{%- set hundredth = to_money("'0.01'") -%}
{%- set today = to_utc_timestamp('current_date') -%}
with agreements_source as (
    {{ pinned_source('saas', 'saas_spend_agreements', [
        ['org_slug', string], ['agreement_id', string], ['provider', string], ['service_name', string],
        ['sku_id', string], ['usage_unit', string], ['list_unit_price', money_type()],
        ['contracted_unit_price', money_type()], ['commitment_amount', money_type()], ['monthly_minimum', money_type()],
        ['prepaid', dbt.type_boolean()], ['currency', string], ['start_date', 'date'], ['end_date', 'date'],
        ['hierarchy_node_id', string], ['updated_at', dbt.type_timestamp()],
    ]) }}
),

usage_source as (
    {{ pinned_source('saas', 'saas_spend_agreement_usage', [
        ['org_slug', string], ['agreement_id', string], ['usage_month', 'date'], ['quantity', money_type()],
        ['updated_at', dbt.type_timestamp()],
    ]) }}
),

agreements as (
    select
        agreement_id,
        trim(provider) as provider_name,
        trim(service_name) as service_name,
        trim(sku_id) as sku_id,
        trim(usage_unit) as usage_unit,
        list_unit_price,
        contracted_unit_price,
        commitment_amount,
        coalesce(prepaid, false) as prepaid,
        upper(currency) as billing_currency,
        {{ to_utc_timestamp('start_date') }} as start_at,
        {{ to_utc_timestamp('end_date') }} as end_at,
        {{ dbt.datediff('start_date', 'end_date', 'month') }} as term_months,
        {# The platform keeps both in whole cents (cloudact.spend_agreements): exact integers from here on. -#}
        cast(commitment_amount * 100 as {{ dbt.type_bigint() }}) as commitment_cents,
        cast(coalesce(monthly_minimum, 0) * 100 as {{ dbt.type_bigint() }}) as minimum_cents,
        hierarchy_node_id
    from agreements_source
    {# One org's copy; the filter keeps a stray row of another tenant out, and a row the platform would reject (a
        term not in whole months) charges nothing. -#}
    where org_slug = '{{ var("org_slug") }}'
        and commitment_amount > 0
        and list_unit_price >= 0
        and contracted_unit_price >= 0
        and end_date > start_date
        and {{ month_start(to_utc_timestamp('start_date')) }} = {{ to_utc_timestamp('start_date') }}
        and {{ month_start(to_utc_timestamp('end_date')) }} = {{ to_utc_timestamp('end_date') }}
),

usage as (
    select
        agreement_id,
        {{ to_utc_timestamp('usage_month') }} as month_start_at,
        sum(quantity) as quantity
    from usage_source
    where org_slug = '{{ var("org_slug") }}' and quantity > 0
    group by 1, 2
),

digits as (
    select 0 as d union all select 1 union all select 2 union all select 3 union all select 4
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
),

{# 0..999 months: the platform allows terms of up to 120. A portable spine (see stg_saas__subscription_charges). -#}
numbers as (
    select ones.d + 10 * tens.d + 100 * hundreds.d as n
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
),

months as (
    select
        agreements.*,
        numbers.n as month_index,
        numbers.n = agreements.term_months - 1 as is_last_month,
        {{ add_months('agreements.start_at', 'numbers.n') }} as month_start_at,
        {{ add_months('agreements.start_at', 'numbers.n + 1') }} as month_end_at
    from agreements
    inner join numbers on numbers.n < agreements.term_months
),

month_usage as (
    select
        months.*,
        usage.quantity,
        {# The month's usage at the contracted price, in cents, rounded half up: quantity and price have at most 6
            decimals each, so the exact product has at most 12 and × 10^12 is whole. -#}
        coalesce({{ integer_divide(
            '2 * ' ~ money_product('months.contracted_unit_price', 'usage.quantity') ~ ' * 1000000000000 + 10000000000',
            '20000000000',
        ) }}, 0) as usage_cents
    from months
    left join usage
        on months.agreement_id = usage.agreement_id
        and months.month_start_at = usage.month_start_at
),

shortfalls as (
    select
        *,
        {# Use it or lose it: the part of the monthly minimum the month's usage left unspent. -#}
        greatest(minimum_cents - usage_cents, 0) as shortfall_cents
    from month_usage
),

totals as (
    select
        agreement_id,
        sum(usage_cents) as usage_total_cents,
        sum(case when not is_last_month then shortfall_cents else 0 end) as monthly_fees_cents,
        max(case when is_last_month then shortfall_cents end) as last_shortfall_cents
    from shortfalls
    group by agreement_id
),

usage_charges as (
    select
        agreement_id, 'usage' as row_kind, 0 as kind_order, month_index,
        month_start_at as charge_period_start_at, month_end_at as charge_period_end_at, month_start_at as billed_at,
        usage_cents as amount_cents, quantity
    from shortfalls
    where quantity is not null
),

{# A month's unused fee is settled once the month is over (its usage is final then); the final month's is part of
    the end-of-term charge below. -#}
monthly_fees as (
    select
        agreement_id, 'monthly_fee' as row_kind, 1 as kind_order, month_index,
        month_start_at as charge_period_start_at, month_end_at as charge_period_end_at, month_start_at as billed_at,
        shortfall_cents as amount_cents, cast(null as {{ money_type() }}) as quantity
    from shortfalls
    where not is_last_month
        and shortfall_cents > 0
        and month_end_at <= {{ today }}
),

{# Once the term is over: the unspent commitment (commitment - all usage - the monthly fees), but at least the final
    month's own shortfall (the spec's single-charge variant of "the final month's unused fee + the overall unmet
    commitment"). It covers the whole term and is billed in the final month. -#}
end_fees as (
    select
        shortfalls.agreement_id, 'end_fee' as row_kind, 2 as kind_order, shortfalls.month_index,
        shortfalls.start_at as charge_period_start_at, shortfalls.end_at as charge_period_end_at,
        shortfalls.month_start_at as billed_at,
        greatest(
            totals.last_shortfall_cents,
            shortfalls.commitment_cents - totals.usage_total_cents - totals.monthly_fees_cents
        ) as amount_cents,
        cast(null as {{ money_type() }}) as quantity
    from shortfalls
    inner join totals on shortfalls.agreement_id = totals.agreement_id
    where shortfalls.is_last_month
        and shortfalls.end_at <= {{ today }}
),

consumption as (
    select * from usage_charges
    union all
    select * from monthly_fees
    union all
    select * from end_fees where amount_cents > 0
),

drawn as (
    select
        consumption.*,
        {# Spent so far in the term, this charge included (a prepaid agreement's drawdown order). -#}
        sum(consumption.amount_cents) over (
            partition by consumption.agreement_id
            order by consumption.month_index, consumption.kind_order
            rows between unbounded preceding and current row
        ) as spent_cents
    from consumption
),

consumption_priced as (
    select
        agreements.*,
        drawn.row_kind,
        drawn.month_index,
        drawn.charge_period_start_at,
        drawn.charge_period_end_at,
        drawn.billed_at,
        {# Prepaid: billed only beyond the prepayment (overage); in arrears: billed as it is spent. -#}
        case
            when agreements.prepaid then
                greatest(drawn.spent_cents - agreements.commitment_cents, 0)
                - greatest(drawn.spent_cents - drawn.amount_cents - agreements.commitment_cents, 0)
            else drawn.amount_cents
        end as billed_cents,
        drawn.amount_cents as effective_cents,
        drawn.quantity
    from drawn
    inner join agreements on drawn.agreement_id = agreements.agreement_id
),

prepayments as (
    select
        agreements.*,
        'prepayment' as row_kind,
        0 as month_index,
        agreements.start_at as charge_period_start_at,
        agreements.end_at as charge_period_end_at,
        agreements.start_at as billed_at,
        agreements.commitment_cents as billed_cents,
        {# FOCUS: a purchase covering future charges has EffectiveCost 0; the usage rows carry it. -#}
        0 as effective_cents,
        cast(null as {{ money_type() }}) as quantity
    from agreements
    where agreements.prepaid and agreements.start_at <= {{ today }}
),

charges as (
    select * from consumption_priced
    union all
    select * from prepayments
),

priced as (
    select
        charges.*,
        {{ to_money('charges.billed_cents * ' ~ hundredth) }} as billed_cost,
        {{ to_money('charges.effective_cents * ' ~ hundredth) }} as effective_cost,
        {# Usage is priced per usage unit; a fee or the prepayment is a share of the commitment (the spec's
            PricingQuantity 0.05 Count at a unit price of the commitment amount). -#}
        case
            when charges.row_kind = 'usage' then charges.quantity
            when charges.row_kind = 'prepayment' then {{ to_money('1') }}
            {# `/` of two integers is a double (DuckDB, BigQuery): relative error ~1e-16, far inside FOCUS's 1e-9. -#}
            else cast(charges.effective_cents / charges.commitment_cents as {{ unit_price_type() }})
        end as pricing_quantity
    from charges
),

categories as (
    select service_code from {{ ref('saas_service_categories') }}
),

final as (
    select
        {{ charge_id(["'saas_spend_agreements'", 'priced.agreement_id', 'priced.month_index', 'priced.row_kind']) }}
            as charge_id,
        'saas' as provider,
        'saas_spend_agreements' as source_system,
        coalesce(categories.service_code, 'saas_other') as service_code,
        {# As for subscriptions: no vendor-side account id is known, so the org is the billing account. -#}
        '{{ var("org_slug") }}' as billing_account_id,
        '{{ var("org_slug") }}' as billing_account_name,
        'Customer Account' as billing_account_type,
        cast(null as {{ string }}) as sub_account_id,
        cast(null as {{ string }}) as sub_account_name,
        cast(null as {{ string }}) as sub_account_type,
        {# One invoice per agreement month (the end-of-term charge rides on the final month's), and the prepayment's
            own. BilledCost per InvoiceId is then what that invoice asks for. -#}
        case
            when priced.row_kind = 'prepayment' then priced.agreement_id || '-prepayment'
            else priced.agreement_id || '-' || cast(priced.month_index as {{ string }})
        end as invoice_id,
        priced.provider_name as invoice_issuer_name,
        priced.provider_name as service_provider_name,
        priced.provider_name as host_provider_name,
        priced.service_name,
        case priced.row_kind when 'prepayment' then 'Purchase' else 'Usage' end as charge_category,
        cast(null as {{ string }}) as charge_class,
        {# As in the spec: metered usage is Usage-Based; the fees and the prepayment are one-time charges. -#}
        case priced.row_kind when 'usage' then 'Usage-Based' else 'One-Time' end as charge_frequency,
        case priced.row_kind
            when 'usage' then 'Monthly usage charge'
            when 'monthly_fee' then 'Monthly unused fee'
            when 'end_fee' then 'End of contract unused fee'
            else 'Upfront payment covering usage for a ' || cast(priced.term_months as {{ string }}) || '-month period'
        end as charge_description,
        'Standard' as pricing_category,
        {# Usage is the entered SKU at the agreement's contracted price; the commitment (fees, prepayment) is priced
            by the agreement itself. -#}
        case when priced.row_kind = 'usage' then priced.sku_id else priced.agreement_id end as sku_id,
        case
            when priced.row_kind = 'usage' then priced.sku_id || ' ' || priced.agreement_id
            else priced.agreement_id
        end as sku_price_id,
        case when priced.row_kind = 'usage' then priced.usage_unit else 'Spend commitment' end as sku_meter,
        {{ key_value_json([['x_SpendAgreementId', 'priced.agreement_id']]) }} as sku_price_details,
        case when priced.row_kind = 'usage' then priced.usage_unit else 'Count' end as pricing_unit,
        {# FOCUS 1.3 wants a consumed quantity on every Usage row (ConsumedQuantity-C-006): the spec's sample leaves it
            empty on the fee rows, we give the fee's share of the commitment, as its PricingQuantity. -#}
        case
            when priced.row_kind = 'usage' then priced.usage_unit
            when priced.row_kind <> 'prepayment' then 'Count'
        end as consumed_unit,
        cast(null as {{ string }}) as region_id,
        cast(null as {{ string }}) as region_name,
        cast(null as {{ string }}) as availability_zone,
        priced.agreement_id as resource_id,
        priced.provider_name || ' ' || priced.service_name || ' spend agreement' as resource_name,
        'SaaS Spend Agreement' as resource_type,
        case when priced.hierarchy_node_id is not null then
            {{ key_value_json([['cloudact:hierarchy_node_id', 'priced.hierarchy_node_id']]) }}
        end as tags,
        priced.billing_currency,
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
        priced.billed_cost,
        priced.effective_cost,
        {# Usage: list and contracted price × quantity (the cent-rounded charge may differ by under half a cent). A
            fee is not discounted: list = contracted = the fee (as in the spec's CSV); the prepayment is the
            commitment. -#}
        case
            when priced.row_kind = 'usage' then {{ money_product('priced.list_unit_price', 'priced.quantity') }}
            when priced.row_kind = 'prepayment' then priced.billed_cost
            else priced.effective_cost
        end as list_cost,
        case
            when priced.row_kind = 'usage' then {{ money_product('priced.contracted_unit_price', 'priced.quantity') }}
            when priced.row_kind = 'prepayment' then priced.billed_cost
            else priced.effective_cost
        end as contracted_cost,
        cast(case when priced.row_kind = 'usage' then priced.list_unit_price else priced.commitment_amount end
             as {{ unit_price_type() }}) as list_unit_price,
        cast(case when priced.row_kind = 'usage' then priced.contracted_unit_price else priced.commitment_amount end
             as {{ unit_price_type() }}) as contracted_unit_price,
        cast(priced.pricing_quantity as {{ unit_price_type() }}) as pricing_quantity,
        case when priced.row_kind <> 'prepayment' then cast(priced.pricing_quantity as {{ unit_price_type() }}) end
            as consumed_quantity,
        {{ month_start('priced.billed_at') }} as billing_period_start_at,
        {{ add_months(month_start('priced.billed_at'), 1) }} as billing_period_end_at,
        priced.charge_period_start_at,
        priced.charge_period_end_at,
        {#- Both copies are rewritten whole on every sync: their fingerprint (last edit, row count of each) versions
            every row, so an edit, a usage entry or a removal marks the org's periods changed. -#}
        concat(
            (select concat(coalesce(cast(max(updated_at) as {{ string }}), ''), ':', cast(count(*) as {{ string }}))
                from agreements_source),
            '/',
            (select concat(coalesce(cast(max(updated_at) as {{ string }}), ''), ':', cast(count(*) as {{ string }}))
                from usage_source)
        ) as load_id,
        cast(null as {{ string }}) as ai_model,
        cast(null as {{ string }}) as ai_token_type,
        cast(null as {{ string }}) as ai_project_id,
        cast(null as {{ string }}) as ai_api_key_id,
        cast(null as {{ string }}) as provider_details
    from priced
    left join categories
        on lower(priced.provider_name) = categories.service_code
)

select * from final
