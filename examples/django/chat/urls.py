from django.urls import path

from . import hooks, views

urlpatterns = [
    path("", views.home, name="home"),
    path("rooms/<str:room>/", views.room, name="room"),
    path("token/", views.token, name="token"),
    path("orders/<int:order_id>/paid/", views.order_paid, name="order-paid"),
    # Called by the rooms server, signed with HOOK_SECRET:
    path("hooks/connect", hooks.connect_hook, name="connect-hook"),  # AUTH_HOOK_URL
    path("hooks/publish", hooks.publish_hook, name="publish-hook"),  # PUBLISH_HOOK_URL
    path("hooks/events", hooks.events_hook, name="events-hook"),  # HOOK_URL
]
