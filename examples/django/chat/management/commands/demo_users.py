"""manage.py demo_users: the two users of the walkthrough, with known passwords. Demo only."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_USERS = [("ann", "Ann", "ann-password"), ("bo", "Bo", "bo-password")]


class Command(BaseCommand):
    help = "Creates (or resets) the demo users ann and bo, with known passwords."

    def handle(self, *args, **options):
        User = get_user_model()
        for username, first_name, password in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.first_name = first_name
            user.set_password(password)
            user.save()
            self.stdout.write(f"{username} (id {user.pk}, {first_name}): password {password}")
