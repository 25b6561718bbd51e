{% macro to_money(expression) %}
    {#- Cast a text or numeric expression to the money decimal type (never float). -#}
    cast({{ expression }} as {{ money_type() }})
{% endmacro %}
