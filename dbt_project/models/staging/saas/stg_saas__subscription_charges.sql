{# SaaS subscriptions → invoice (Purchase) rows and daily amortised (Usage) rows. Rules in _saas__models.yml. -#}
{%- set string = dbt.type_string() -%}
{%- set hundredth = to_money("'0.01'") -%}
with source as (
    {{ pinned_source('saas', 'saas_subscriptions', [
        ['org_slug', string], ['subscription_id', string], ['provider', string], ['plan', string],
        ['seats', dbt.type_bigint()], ['unit_price', money_type()], ['currency', string], ['billing_cycle', string],
        ['start_date', 'date'], ['end_date', 'date'], ['hierarchy_node_id', string],
        ['updated_at', dbt.type_timestamp()], ['billing_timing', string],
    ]) }}
),

subscriptions as (
    select
        subscription_id,
        trim(provider) as provider_name,
        trim(plan) as plan,
        seats,
        unit_price,
        upper(currency) as billing_currency,
        billing_cycle,
        case billing_cycle when 'annual' then 12 else 1 end as cycle_months,
        {# Rows copied before the column existed are invoiced up front, as they were. -#}
        coalesce(billing_timing, 'advance') as billing_timing,
        {{ to_utc_timestamp('start_date') }} as start_at,
        {{ to_utc_timestamp('end_date') }} as end_at,
        hierarchy_node_id
    from source
    {# The sync copies one org's rows; the filter keeps a stray row of another tenant out all the same. A row the
        platform would reject (or an end on its start day) pays for nothing. -#}
    where org_slug = '{{ var("org_slug") }}'
        and seats >= 1
        and unit_price >= 0
        and billing_cycle in ('monthly', 'annual')
        and coalesce(billing_timing, 'advance') in ('advance', 'arrears')
        and (end_date is null or end_date > start_date)
),

digits as (
    select 0 as d union all select 1 union all select 2 union all select 3 union all select 4
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
),

{# 0..9999: enough cycles (833 years of monthly ones) and days (a cycle has at most 366). A portable spine:
    DuckDB's range() and BigQuery's GENERATE_ARRAY differ. -#}
numbers as (
    select ones.d + 10 * tens.d + 100 * hundreds.d + 1000 * thousands.d as n
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
),

cycles as (
    select
        subscriptions.*,
        numbers.n as cycle_index,
        {# From start_at each time (not chained), so a subscription starting on the 31st bills on the last day of
            shorter months and on the 31st again after them. -#}
        {{ add_months('subscriptions.start_at', 'numbers.n * subscriptions.cycle_months') }} as cycle_start_at,
        {{ add_months('subscriptions.start_at', '(numbers.n + 1) * subscriptions.cycle_months') }} as cycle_end_at
    from subscriptions
    cross join numbers
),

invoices as (
    select
        *,
        {{ dbt.datediff('cycle_start_at', 'cycle_end_at', 'day') }} as cycle_days,
        {{ dbt.datediff('cycle_start_at', 'paid_end_at', 'day') }} as paid_days
    from (
        select
            *,
            {# end_date (exclusive) cuts the cycle it falls in short: the subscription pays up to it. -#}
            case when end_at is not null and end_at < cycle_end_at then end_at else cycle_end_at end as paid_end_at
        from cycles
        {# Invoices up to today's open cycle (issued on its first day); none at or after the end date. -#}
        where cycle_start_at <= {{ to_utc_timestamp('current_date') }}
            and (end_at is null or cycle_start_at < end_at)
    ) as bounded
),

invoice_amounts as (
    select
        *,
        {# seats × unit price × paid days / cycle days, in cents, rounded half up — in exact integers: the unit
            price has at most 6 decimals (cloudact.subscriptions), so seats × price × 10^6 is whole. -#}
        {{ integer_divide(
            '2 * seats * unit_price * 1000000 * paid_days + cycle_days * 10000',
            '2 * cycle_days * 10000',
        ) }} as invoice_cents,
        {# Seat-cycles paid for (seats on a full cycle): the pricing quantity of the invoice. -#}
        case
            when paid_days = cycle_days then {{ to_money('seats') }}
            else {{ to_money(to_money('seats * paid_days') ~ ' / cycle_days') }}
        end as invoice_quantity
    from invoices
),

invoice_days as (
    select
        *,
        {# Each day gets the invoice / paid days truncated to the cent and the last day the remainder, so the days
            sum to the invoice exactly and no day is negative or smaller than the others. -#}
        {{ integer_divide('invoice_cents', 'paid_days') }} as day_cents
    from invoice_amounts
),

purchases as (
    select
        invoice_days.*,
        'purchase' as row_kind,
        {# In arrears, a cycle is invoiced in the month holding its last paid day, once that day has passed. -#}
        case
            when billing_timing = 'arrears' then {{ add_days('paid_end_at', -1) }}
            else cycle_start_at
        end as billed_at,
        cast(null as {{ dbt.type_int() }}) as day_index,
        cycle_start_at as charge_period_start_at,
        paid_end_at as charge_period_end_at,
        {{ to_money('invoice_cents * ' ~ hundredth) }} as billed_cost,
        {{ to_money('0') }} as effective_cost,
        invoice_quantity as pricing_quantity
    from invoice_days
    where billing_timing = 'advance' or paid_end_at <= {{ to_utc_timestamp('current_date') }}
),

amortised as (
    select
        invoice_days.*,
        'amortisation' as row_kind,
        {{ add_days('invoice_days.cycle_start_at', 'numbers.n') }} as billed_at,
        numbers.n as day_index,
        {{ add_days('invoice_days.cycle_start_at', 'numbers.n') }} as charge_period_start_at,
        {{ add_days('invoice_days.cycle_start_at', 'numbers.n + 1') }} as charge_period_end_at,
        {{ to_money('0') }} as billed_cost,
        case
            when numbers.n = invoice_days.paid_days - 1
                then {{ to_money('(invoice_days.invoice_cents - invoice_days.day_cents * (invoice_days.paid_days - 1)) * ' ~ hundredth) }}
            else {{ to_money('invoice_days.day_cents * ' ~ hundredth) }}
        end as effective_cost,
        {# The day's share of the cycle's seat-cycles, so that ListCost = unit price × quantity holds per row. -#}
        {{ to_money(to_money('invoice_days.seats') ~ ' / invoice_days.cycle_days') }} as pricing_quantity
    from invoice_days
    inner join numbers on numbers.n < invoice_days.paid_days
),

charges as (
    select * from purchases
    union all
    select * from amortised
),

categories as (
    select service_code from {{ ref('saas_service_categories') }}
),

final as (
    select
        {{ charge_id(["'saas_subscriptions'", 'charges.subscription_id', 'charges.cycle_index', 'charges.row_kind', 'charges.day_index']) }}
            as charge_id,
        'saas' as provider,
        'saas_subscriptions' as source_system,
        {# Known vendors map to their FOCUS category (seeds/service_categories/saas_service_categories.csv); any
            other is a business application. -#}
        coalesce(categories.service_code, 'saas_other') as service_code,
        {# The vendor bills the org; we know no vendor-side account id, so the org is the billing account. -#}
        '{{ var("org_slug") }}' as billing_account_id,
        '{{ var("org_slug") }}' as billing_account_name,
        'Customer Account' as billing_account_type,
        cast(null as {{ string }}) as sub_account_id,
        cast(null as {{ string }}) as sub_account_name,
        cast(null as {{ string }}) as sub_account_type,
        {# One synthetic invoice per subscription cycle; the amortised days carry it too (BilledCost 0 there, so
            BilledCost per InvoiceId is still the invoice). -#}
        charges.subscription_id || '-' || cast(charges.cycle_index as {{ string }}) as invoice_id,
        charges.provider_name as invoice_issuer_name,
        charges.provider_name as service_provider_name,
        {# A SaaS vendor hosts its own service (FOCUS: HostProviderName = ServiceProviderName when not exposed). -#}
        charges.provider_name as host_provider_name,
        charges.provider_name as service_name,
        case charges.row_kind when 'purchase' then 'Purchase' else 'Usage' end as charge_category,
        cast(null as {{ string }}) as charge_class,
        {# FOCUS: a Purchase is never Usage-Based. A single annual payment is One-Time, monthly renewals Recurring;
            the amortised days of a fixed seat price are a recurring, not a metered, charge. -#}
        case
            when charges.row_kind = 'purchase' and charges.billing_cycle = 'annual' then 'One-Time'
            else 'Recurring'
        end as charge_frequency,
        case charges.row_kind
            when 'purchase' then charges.provider_name || ' ' || charges.plan || ': '
                || case charges.billing_cycle when 'annual' then 'annual' else 'monthly' end
                || ' subscription invoice, ' || cast(charges.seats as {{ string }}) || ' seats'
            else charges.provider_name || ' ' || charges.plan || ': daily share of the '
                || case charges.billing_cycle when 'annual' then 'annual' else 'monthly' end
                || ' subscription invoice, ' || cast(charges.seats as {{ string }}) || ' seats'
        end as charge_description,
        'Standard' as pricing_category,
        charges.provider_name || ' ' || charges.plan as sku_id,
        {# The subscription is the price agreement: one unit price per SkuPriceId. -#}
        charges.provider_name || ' ' || charges.plan || ' ' || charges.billing_cycle || ' ' || charges.subscription_id
            as sku_price_id,
        'Seats' as sku_meter,
        {{ key_value_json([['x_BillingCycle', 'charges.billing_cycle'], ['x_SubscriptionId', 'charges.subscription_id']]) }}
            as sku_price_details,
        {# The price is per seat per cycle, like AWS's GB-Months: FOCUS UnitFormat <unit>-<plural time unit>. -#}
        case charges.billing_cycle when 'annual' then 'Seat-Years' else 'Seat-Months' end as pricing_unit,
        case when charges.row_kind = 'amortisation' then 'Seat-Days' end as consumed_unit,
        cast(null as {{ string }}) as region_id,
        cast(null as {{ string }}) as region_name,
        cast(null as {{ string }}) as availability_zone,
        charges.subscription_id as resource_id,
        charges.provider_name || ' ' || charges.plan as resource_name,
        'SaaS Subscription' as resource_type,
        {# The subscription's cost-hierarchy node as a CloudAct tag, so a tag rule on it allocates the rows. -#}
        case when charges.hierarchy_node_id is not null then
            {{ key_value_json([['cloudact:hierarchy_node_id', 'charges.hierarchy_node_id']]) }}
        end as tags,
        charges.billing_currency,
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
        charges.billed_cost,
        charges.effective_cost,
        {# No discounts are entered: list = contracted = unit price × quantity (on a prorated invoice this can
            differ from the cent-rounded BilledCost by less than half a cent). -#}
        {{ money_product('charges.unit_price', 'charges.pricing_quantity') }} as list_cost,
        {{ money_product('charges.unit_price', 'charges.pricing_quantity') }} as contracted_cost,
        cast(charges.unit_price as {{ unit_price_type() }}) as list_unit_price,
        cast(charges.unit_price as {{ unit_price_type() }}) as contracted_unit_price,
        cast(charges.pricing_quantity as {{ unit_price_type() }}) as pricing_quantity,
        {# Seats held during the day (FOCUS: consumed quantity only on Usage rows). -#}
        case when charges.row_kind = 'amortisation' then cast(charges.seats as {{ unit_price_type() }}) end
            as consumed_quantity,
        {# Invoices belong to the month they are issued in, amortised days to the month they fall in. -#}
        {{ month_start('charges.billed_at') }} as billing_period_start_at,
        {{ add_months(month_start('charges.billed_at'), 1) }} as billing_period_end_at,
        charges.charge_period_start_at,
        charges.charge_period_end_at,
        {#- The copy is rewritten whole on every sync: its fingerprint (last edit, row count) versions every row, so
            an edit or a removal marks the org's SaaS periods changed for the incremental FOCUS build. -#}
        (select concat(coalesce(cast(max(updated_at) as {{ string }}), ''), ':', cast(count(*) as {{ string }}))
            from source) as load_id,
        cast(null as {{ string }}) as ai_model,
        cast(null as {{ string }}) as ai_token_type,
        cast(null as {{ string }}) as ai_project_id,
        cast(null as {{ string }}) as ai_api_key_id,
        cast(null as {{ string }}) as provider_details
    from charges
    left join categories
        on lower(charges.provider_name) = categories.service_code
)

select * from final
