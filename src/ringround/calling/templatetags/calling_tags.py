from django import template

register = template.Library()


@register.filter
def posted_values(entered, key):
    """The values the volunteer entered for ``key`` before an error (a dict of lists, kept
    in the session across the redirect), so their answers survive it."""
    if hasattr(entered, "getlist"):
        return entered.getlist(key)
    return list(entered.get(key, [])) if isinstance(entered, dict) else []


@register.filter
def first_value(entered, key):
    values = posted_values(entered, key)
    return values[0] if values else ""
