-- Invariant: a tenant's FOCUS table holds only that tenant's rows (x_OrgSlug is the build's org_slug), and every
-- row's billing account was loaded into this tenant's own raw tables. No accepted exceptions.
with focus as (
    select x_OrgSlug, x_SourceSystem, BillingAccountId
    from {{ ref('cost_data_standard_1_3') }}
),

own_accounts as (
    select distinct 'aws_cur' as source_system, billing_account_id from {{ ref('stg_aws__cost_line_items') }}
    union all
    select distinct 'aws_focus_export' as source_system, billing_account_id from {{ ref('stg_aws__focus_export') }}
    union all
    select distinct 'openai_costs' as source_system, billing_account_id from {{ ref('stg_openai__costs') }}
    union all
    select distinct 'openai_usage' as source_system, billing_account_id from {{ ref('stg_openai__usage') }}
    union all
    select distinct 'anthropic_cost_report' as source_system, billing_account_id from {{ ref('stg_anthropic__costs') }}
    union all
    select distinct 'anthropic_usage_report' as source_system, billing_account_id from {{ ref('stg_anthropic__usage') }}
    union all
    select distinct 'saas_subscriptions' as source_system, billing_account_id from {{ ref('stg_saas__subscription_charges') }}
    union all
    select distinct 'saas_spend_agreements' as source_system, billing_account_id from {{ ref('stg_saas__spend_agreement_charges') }}
    union all
    select distinct 'azure_cost_details' as source_system, billing_account_id from {{ ref('stg_azure__cost_details') }}
    union all
    select distinct 'oci_cost_reports' as source_system, billing_account_id from {{ ref('stg_oci__cost_reports') }}
    union all
    select distinct 'azure_focus_cost' as source_system, billing_account_id from {{ ref('stg_azure__focus_costs') }}
    union all
    select distinct 'oci_focus_reports' as source_system, billing_account_id from {{ ref('stg_oci__focus_reports') }}
    union all
    select distinct 'gcp_billing_export' as source_system, billing_account_id from {{ ref('stg_gcp__billing_export') }}
)

select focus.*
from focus
left join own_accounts
    on focus.x_SourceSystem = own_accounts.source_system
    and focus.BillingAccountId = own_accounts.billing_account_id
where focus.x_OrgSlug <> '{{ var("org_slug") }}'
    or own_accounts.billing_account_id is null
