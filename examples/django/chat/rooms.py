"""The rooms server, seen from Django: who a user is there, and pushing to it.

`push()` is examples/push.py's, loaded from where it lives in this repository so there is one
copy of it. In your own project, copy examples/push.py next to your apps as `rooms_push.py` and
write `from rooms_push import push` instead.
"""
import importlib.util

from django.conf import settings

_spec = importlib.util.spec_from_file_location("rooms_push", settings.BASE_DIR.parent / "push.py")
rooms_push = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rooms_push)
push = rooms_push.push

MAX_NAME_CHARS = 64  # the rooms' display-name rule


def member_id(user) -> str:
    """A Django user's id in the rooms: its primary key, as text (never `guest-…`)."""
    return str(user.pk)


def display_name(user) -> str:
    return (user.get_full_name() or user.get_username())[:MAX_NAME_CHARS]
