"""The site's own pages and APIs: the room page, join tokens, and a view that pushes."""
import re
import urllib.error

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from .rooms import display_name, member_id, push
from .tokens import join_token

ROOM_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,99}$")  # the rooms' (and Channels') group-name rule
TOKEN_TTL_SEC = 600


def api_login_required(view):
    """For what a page fetches: 401 JSON for a visitor who is not signed in, not a redirect."""

    def checked(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse({"error": "unauthorized", "message": "sign in first"}, status=401)
        return view(request, *args, **kwargs)

    return checked


@login_required
def home(request):
    if request.GET.get("room"):
        return redirect("room", room=request.GET["room"])
    return render(request, "chat/home.html", {"rooms": ["lobby", "private-team"]})


@login_required
def room(request, room):
    """The chat page. It joins the room with no token: the browser's session cookie goes with
    the WebSocket upgrade, and the rooms server asks /hooks/connect who that is."""
    if not ROOM_NAME.match(room):
        return render(request, "chat/home.html", {"problem": "no such room"}, status=404)
    config = {
        "url": settings.ROOMS_URL,
        "room": room,
        "self": {"id": member_id(request.user), "name": display_name(request.user)},
        "csrf": get_token(request),
    }
    return render(request, "chat/room.html", {"room": room, "config": config})


@require_GET
@api_login_required
def token(request):
    """A join token for the signed-in user, for a client that cannot send the session cookie
    (an app, a page on another domain): GET /token/?room=private-team -> {"token": "eyJ…"}."""
    room = request.GET.get("room", "")
    if not ROOM_NAME.match(room):
        return JsonResponse({"error": "invalid_room", "message": "?room=<name>"}, status=400)
    user = request.user
    minted = join_token(
        settings.JOIN_SECRET, member_id(user), display_name(user), room, TOKEN_TTL_SEC
    )
    return JsonResponse({"token": minted, "room": room, "expires_in": TOKEN_TTL_SEC})


@require_POST
@api_login_required
def order_paid(request, order_id):
    """What `async_to_sync(channel_layer.group_send)(...)` did: tell the user's open pages, now.
    `to` reaches only this user's sockets in the room; the webhook id names what happened, so a
    retried request is delivered once."""
    room = request.POST.get("room", "lobby")
    if not ROOM_NAME.match(room):
        return JsonResponse({"error": "invalid_room", "message": "room=<name>"}, status=400)
    event = {
        "room": room,
        "event": "order.paid",
        "data": {"order": order_id},
        "to": member_id(request.user),
    }
    try:
        answer = push(
            settings.ROOMS_URL,
            settings.PUSH_SECRET,
            event,
            msg_id=f"order-{order_id}-paid-{member_id(request.user)}",
        )
    except (RuntimeError, urllib.error.URLError) as err:
        return JsonResponse({"error": "push_failed", "message": str(err)}, status=502)
    return JsonResponse(answer)
