{% macro tenant_dataset() %}
    {#- The tenant's dataset {org_slug}_prod. The slug comes from var('org_slug') and is validated here, before it
        can reach any SQL, with the same pattern as cloudact.tenancy.SLUG_PATTERN. -#}
    {%- set slug = var('org_slug', none) -%}
    {%- if slug is none -%}
        {{ exceptions.raise_compiler_error("var 'org_slug' is required: dbt build --vars '{org_slug: <slug>}'") }}
    {%- endif -%}
    {%- if not modules.re.fullmatch('[a-zA-Z0-9_]{3,50}', slug | string) -%}
        {{ exceptions.raise_compiler_error("invalid org_slug '" ~ slug ~ "': expected 3-50 characters from [a-zA-Z0-9_]") }}
    {%- endif -%}
    {{ return(slug ~ '_prod') }}
{% endmacro %}
