{% test key_value_format(model, column_name) %}
    {#- FOCUS KeyValueFormat: a serialised flat JSON object (values string/number/bool/null, never nested). -#}
    {{ return(adapter.dispatch('key_value_format_violations', 'cloudact')(model, column_name)) }}
{% endtest %}
