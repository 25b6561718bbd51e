{{ union_charges([ref('stg_aws__cost_line_items'), ref('stg_openai__costs'), ref('stg_saas__subscription_charges'), ref('stg_oci__cost_reports'), ref('stg_azure__cost_details')]) }}
