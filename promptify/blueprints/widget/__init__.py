"""The widget API `/widget/v1/...` (docs/widget-api.md): `views` answers the endpoints,
`openapi` describes them."""

from promptify.blueprints.widget.views import bp

__all__ = ["bp"]
