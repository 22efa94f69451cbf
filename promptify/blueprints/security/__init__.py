"""Settings › Messenger › Security (docs/operations.md, "The console"): `views` serves the
page and its forms, `countdown` words the replaced key's grace period."""

from promptify.blueprints.security.views import bp

__all__ = ["bp"]
