{{ union_charges([ref('stg_aws__cost_line_items'), ref('stg_openai__costs')]) }}
