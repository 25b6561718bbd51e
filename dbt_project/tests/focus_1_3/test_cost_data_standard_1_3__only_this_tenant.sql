-- Invariant: a tenant's FOCUS table holds only that tenant's rows (x_OrgSlug is the build's org_slug), and every
-- row's billing account was loaded into this tenant's own raw tables. No accepted exceptions.
with focus as (
    select x_OrgSlug, x_SourceSystem, BillingAccountId
    from {{ ref('cost_data_standard_1_3') }}
),

own_accounts as (
    select distinct 'aws_cur' as source_system, billing_account_id from {{ ref('stg_aws__cost_line_items') }}
    union all
    select distinct 'openai_costs' as source_system, billing_account_id from {{ ref('stg_openai__costs') }}
    union all
    select distinct 'saas_subscriptions' as source_system, billing_account_id from {{ ref('stg_saas__subscription_charges') }}
    union all
    select distinct 'azure_cost_details' as source_system, billing_account_id from {{ ref('stg_azure__cost_details') }}
    union all
    select distinct 'oci_cost_reports' as source_system, billing_account_id from {{ ref('stg_oci__cost_reports') }}
)

select focus.*
from focus
left join own_accounts
    on focus.x_SourceSystem = own_accounts.source_system
    and focus.BillingAccountId = own_accounts.billing_account_id
where focus.x_OrgSlug <> '{{ var("org_slug") }}'
    or own_accounts.billing_account_id is null
