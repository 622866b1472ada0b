"""The three calls the rooms server makes to this site, each signed with HOOK_SECRET.

They take the place of a Django Channels consumer's methods:

- connect_hook (POST /hooks/connect, AUTH_HOOK_URL): the consumer's `connect`, reading the
  Django session like `AuthMiddlewareStack`: who joins a room without a token;
- publish_hook (POST /hooks/publish, PUBLISH_HOOK_URL): the part of `receive` that checks a
  message before the group sees it (a banned word is refused);
- events_hook (POST /hooks/events, HOOK_URL): the part of `receive` that saves to the database,
  and `disconnect`: what happened in the rooms, told afterwards, at least once.

None of them is behind CSRF protection (no browser calls them); the signature is what lets a
call in, checked on the raw body before anything in it is believed.
"""
import json
import re
from datetime import datetime, timezone
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.http.cookie import parse_cookie
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import Delivery, Message, RoomEvent
from .rooms import display_name, member_id
from .webhooks import verify

# Places where a visitor without a session is refused by this site rather than let in as a guest.
MEMBERS_ONLY = re.compile(r"^(private-|user-)")


def signed(view):
    """Answers 401 to a call HOOK_SECRET did not sign; otherwise hands the view the parsed body."""

    @csrf_exempt
    @require_POST
    def checked(request: HttpRequest):
        problem = verify(settings.HOOK_SECRET, request.headers, request.body)
        if problem is not None:
            return JsonResponse({"error": "bad_signature", "message": problem}, status=401)
        try:
            body = json.loads(request.body)
        except ValueError:
            return JsonResponse({"error": "invalid_body", "message": "not JSON"}, status=400)
        if not isinstance(body, dict):
            return JsonResponse({"error": "invalid_body", "message": "not an object"}, status=400)
        return view(request, body)

    return checked


def session_user(cookie_header: str):
    """The signed-in, active user of a browser's Cookie header, or None.

    What AuthMiddlewareStack does for a consumer: the session named by the session cookie,
    loaded from the session engine, and the user in it, which get_user() checks against the
    user's current password hash (a password change signs every session out, here too).
    """
    key = parse_cookie(cookie_header or "").get(settings.SESSION_COOKIE_NAME)
    if not key:
        return None
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(key)
    user = get_user(request)
    return user if user.is_authenticated and user.is_active else None


@signed
def connect_hook(request, asked):
    """{"place", "kind", "role", "query", "headers": {"cookie", ...}} -> who joins."""
    headers = asked.get("headers") if isinstance(asked.get("headers"), dict) else {}
    user = session_user(headers.get("cookie", ""))
    if user is not None:
        return JsonResponse(
            {
                "user": member_id(user),
                "name": display_name(user),
                # Staff may serve at a help desk (?role=agent); everyone else is a member.
                "role": "agent" if user.is_staff else "member",
            }
        )
    place = str(asked.get("place", ""))
    if MEMBERS_ONLY.match(place) or asked.get("role") == "agent":
        return JsonResponse({"message": "sign in first: this place is for members"}, status=401)
    return JsonResponse({"guest": True})


def banned_word(data):
    """The first banned word found in any text of a message's data, or None."""
    if isinstance(data, str):
        text = data.casefold()
        return next((w for w in settings.BANNED_WORDS if w.casefold() in text), None)
    if isinstance(data, dict):
        data = list(data.values())
    if isinstance(data, list):
        return next((w for w in map(banned_word, data) if w is not None), None)
    return None


@signed
def publish_hook(request, asked):
    """{"room", "from", "type", "to", "data", "id"} -> 200 {} (store it) or 403 (refuse it)."""
    word = banned_word(asked.get("data"))
    if word is not None:
        return JsonResponse({"message": f"“{word}” is not allowed in this chat"}, status=403)
    return JsonResponse({})


def _text(data) -> str:
    if isinstance(data, str):
        return data
    if isinstance(data, dict) and isinstance(data.get("text"), str):
        return data["text"]
    return json.dumps(data, ensure_ascii=False)


def _when(ms) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc)


def _matches(patterns, name: str) -> bool:
    return any(
        re.fullmatch(".*".join(map(re.escape, p.split("*"))), name) is not None for p in patterns
    )


def _rows(events):
    """The rows of a delivery's events: chat lines, and everything else."""
    messages, others = [], []
    for e in events:
        if e["type"] == "message.created":
            frame = e["frame"]
            messages.append(
                Message(
                    event_id=e["id"],
                    room=e["room"],
                    seq=frame["seq"],
                    kind=frame["type"],
                    sender_id=frame["from"]["id"],
                    sender_name=frame["from"]["name"],
                    recipient_id=frame.get("to"),
                    text=_text(frame.get("data")),
                    data=frame.get("data"),
                    sent_at=_when(frame["ts"]),
                )
            )
        else:
            member = e.get("member") or {}
            others.append(
                RoomEvent(
                    event_id=e["id"],
                    type=e["type"],
                    room=e.get("room") or e.get("desk") or "",
                    member_id=member.get("id"),
                    member_name=member.get("name", ""),
                    count=e.get("count"),
                    ts=e["ts"],
                )
            )
    return messages, others


@signed
def events_hook(request, delivery):
    """{"events": [...]}: stored once each by event id, however often they are delivered."""
    events = delivery.get("events")
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        return JsonResponse({"error": "invalid_body", "message": "no events list"}, status=400)
    try:
        messages, others = _rows(events)
    except (KeyError, TypeError, ValueError) as err:
        return JsonResponse({"error": "invalid_body", "message": f"bad event: {err!r}"}, status=400)
    # One delivery carries the events of one room (or desk).
    room = (events[0].get("room") or events[0].get("desk") or "") if events else ""
    with transaction.atomic():
        # INSERT ... ON CONFLICT DO NOTHING: an event id seen before is skipped, not doubled.
        Message.objects.bulk_create(messages, ignore_conflicts=True)
        RoomEvent.objects.bulk_create(others, ignore_conflicts=True)
        status = 200
        if (
            messages
            and _matches(settings.HOOKS_FAIL_ONCE_ROOMS, room)
            and not Delivery.objects.filter(room=room, status=500).exists()
        ):
            status = 500  # the test switch: stored, then answered as if this site had failed
        Delivery.objects.create(
            webhook_id=request.headers["webhook-id"],
            room=room,
            events=len(events),
            messages=len(messages),
            status=status,
        )
    if status == 500:
        return JsonResponse(
            {"error": "failing_on_purpose", "message": "HOOKS_FAIL_ONCE_ROOMS"}, status=500
        )
    return JsonResponse({"received": len(events)})
