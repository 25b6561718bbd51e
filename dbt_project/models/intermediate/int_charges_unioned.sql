{{ union_charges(
    [ref('stg_aws__cost_line_items'), ref('stg_aws__focus_export'), ref('stg_openai__costs'), ref('int_genai_charges'),
     ref('stg_saas__subscription_charges'), ref('stg_saas__spend_agreement_charges'), ref('stg_oci__cost_reports'),
     ref('stg_gcp__billing_export'), ref('stg_azure__cost_details'), ref('stg_azure__focus_costs'),
     ref('stg_oci__focus_reports')],
    hashed=[ref('stg_aws__cost_line_items')],
) }}
