"""The web console at ``/ui/``: browse subjects, read and diff versions, try a change under
every compatibility level, register and change settings, with the API's users and rules.

Server-rendered HTML (Jinja2 templates in ``templates/``, one stylesheet and one small
script in ``static/``); every page works without the script. ``schemahub serve --no-ui``
leaves it out.
"""

from .app import Console

__all__ = ["Console"]
