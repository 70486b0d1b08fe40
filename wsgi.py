"""For gunicorn: `gunicorn wsgi:app`."""

import sys

from config import ConfigError
from tracker import create_app

try:
    app = create_app()
except ConfigError as error:
    sys.exit(f"tracker will not start: {error}")
