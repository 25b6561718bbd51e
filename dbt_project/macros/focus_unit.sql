{% macro focus_unit(expression) %}
    {#- A provider's unit label in FOCUS UnitFormat (e.g. AWS "GB-Mo" → "GB-Months", "Hrs" → "Hours").
        https://focus.finops.org/ (Attributes › Unit Format); unknown labels pass through unchanged. -#}
    case {{ expression }}
        when 'Hrs' then 'Hours'
        when 'Hr' then 'Hours'
        when 'GB-Mo' then 'GB-Months'
        when 'GB-Month' then 'GB-Months'
        when 'GB-Hrs' then 'GB-Hours'
        when 'Obj-Month' then 'Object-Months'
        when 'vCPU-Hours' then 'vCPU-Hours'
        when 'ACU-Hr' then 'ACU-Hours'
        when 'IOs' then 'IOs'
        when 'Request' then 'Requests'
        when 'API Request' then 'API Requests'
        else {{ expression }}
    end
{% endmacro %}
