"""The widget API `/widget/v1/...` (docs/widget-api.md): `http` is its edge (limits, body,
origins, CORS), `views` answers the endpoints with the shapes of `schemas`, `openapi`
describes them."""

from promptify.blueprints.widget.views import bp

__all__ = ["bp"]
