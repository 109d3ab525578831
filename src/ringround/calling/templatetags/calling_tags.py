from django import template

register = template.Library()


@register.filter
def posted_values(posted, key):
    """The values a re-shown form had for ``key``, so a volunteer's answers survive an error."""
    return posted.getlist(key) if hasattr(posted, "getlist") else []
