"""What the rooms server tells this site (events out, POST /hooks/events), kept in its database.

Deliveries come at least once: a retry resends the same events with the same ids. Each event's
`id` is a unique column here, and rows are inserted with INSERT ... ON CONFLICT DO NOTHING
(`bulk_create(ignore_conflicts=True)`), so a repeated event is never stored twice.
"""
from django.db import models


class Message(models.Model):
    """A `message.created` event: a chat line the room stored, as its members got it."""

    event_id = models.CharField(max_length=100, unique=True)
    room = models.CharField(max_length=99, db_index=True)
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=10)  # "message" (the group) or "direct" (two members)
    sender_id = models.CharField(max_length=64)
    sender_name = models.CharField(max_length=64)
    recipient_id = models.CharField(max_length=64, null=True, blank=True)
    text = models.TextField(blank=True)
    data = models.JSONField(null=True)
    sent_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["room", "seq"]

    def __str__(self) -> str:
        return f"{self.room}#{self.seq} {self.sender_name}: {self.text}"


class RoomEvent(models.Model):
    """Any other event: room.occupied/vacated, member.joined/left, conversation.*."""

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=40)
    room = models.CharField(max_length=99, db_index=True)  # the room, or the desk
    member_id = models.CharField(max_length=64, null=True, blank=True)
    member_name = models.CharField(max_length=64, blank=True)
    count = models.IntegerField(null=True)
    ts = models.BigIntegerField()  # ms, when the rooms server emitted it
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ts"]

    def __str__(self) -> str:
        return f"{self.type} {self.room} {self.member_name}".strip()


class Delivery(models.Model):
    """Every POST to /hooks/events and what it was answered: retries show up here."""

    webhook_id = models.CharField(max_length=100, db_index=True)
    room = models.CharField(max_length=99, blank=True)
    events = models.IntegerField()
    messages = models.IntegerField()
    status = models.IntegerField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "deliveries"
