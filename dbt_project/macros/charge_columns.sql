{% macro charge_columns() %}
    {#- The shape every staging model of a charge source returns (snake_case business names, in this order), so that
        int_charges_unioned can union them. Types: see the staging models' casts. -#}
    {{ return([
        'charge_id', 'provider', 'source_system', 'service_code',
        'billing_account_id', 'billing_account_name', 'billing_account_type',
        'sub_account_id', 'sub_account_name', 'sub_account_type',
        'invoice_id', 'invoice_issuer_name', 'service_provider_name', 'host_provider_name',
        'service_name', 'charge_category', 'charge_class', 'charge_frequency', 'charge_description',
        'pricing_category', 'sku_id', 'sku_price_id', 'sku_meter', 'sku_price_details',
        'pricing_unit', 'consumed_unit', 'region_id', 'region_name', 'availability_zone',
        'resource_id', 'resource_name', 'resource_type', 'tags', 'billing_currency',
        'usage_type', 'operation', 'line_item_type',
        'commitment_discount_id', 'commitment_discount_name', 'commitment_discount_category',
        'commitment_discount_type', 'commitment_discount_status', 'commitment_discount_quantity',
        'commitment_discount_unit',
        'billed_cost', 'effective_cost', 'list_cost', 'contracted_cost',
        'list_unit_price', 'contracted_unit_price', 'pricing_quantity', 'consumed_quantity',
        'billing_period_start_at', 'billing_period_end_at', 'charge_period_start_at', 'charge_period_end_at',
        'load_id', 'ai_model', 'ai_token_type', 'ai_project_id', 'ai_api_key_id', 'provider_details',
    ]) }}
{% endmacro %}
