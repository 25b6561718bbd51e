{% macro generate_schema_name(custom_schema_name, node) -%}
    {#- Every node of a tenant build (models, seeds, tests' audit tables) lands in the tenant dataset; the profile's
        schema is never used, so one tenant's build cannot write into another's dataset. -#}
    {{ tenant_dataset() }}
{%- endmacro %}
