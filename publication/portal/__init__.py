"""The static open-data portal of a release (`releases/<id>/portal/`): see `publication.portal.render`."""

from publication.portal.render import render_portal

__all__ = ["render_portal"]
