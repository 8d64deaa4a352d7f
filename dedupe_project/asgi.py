"""ASGI entry point (daphne): HTTP through Django, WebSockets through Channels.

WebSockets are authenticated with the session and their Origin is checked against ALLOWED_HOSTS.
In the embedded mode the Dramatiq worker and the scheduler start inside this process.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dedupe_project.settings")

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from processing.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)

if settings.EMBEDDED_WORKER:
    from processing import embedded

    embedded.start()
