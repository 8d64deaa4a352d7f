from django.urls import path

from processing.consumers import JobProgressConsumer

websocket_urlpatterns = [
    path("ws/jobs/", JobProgressConsumer.as_asgi()),
]
