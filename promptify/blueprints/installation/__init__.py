"""Settings › Messenger › Installation (docs/operations.md, "The console"): `views` serves the
page, `snippets` writes the embed code and the signing examples it shows."""

from promptify.blueprints.installation.views import bp

__all__ = ["bp"]
