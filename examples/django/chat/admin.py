from django.contrib import admin

from .models import Delivery, Message, RoomEvent


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("room", "seq", "sender_name", "text", "sent_at")
    list_filter = ("room",)


@admin.register(RoomEvent)
class RoomEventAdmin(admin.ModelAdmin):
    list_display = ("type", "room", "member_name", "count", "ts")
    list_filter = ("type", "room")


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("webhook_id", "room", "events", "messages", "status", "received_at")
