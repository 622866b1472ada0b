"""Settings of the example: everything that differs between a laptop and a deployment comes from
the environment, and the three secrets it shares with the rooms server too.

The rooms server and this site must agree on three secrets (README.md):

- HOOK_SECRET (whsec_<base64>): the rooms server signs every hook call with it, and the hooks
  here refuse what it did not sign;
- JOIN_SECRET: the join tokens the token view mints are signed with it;
- PUSH_SECRET (whsec_<base64>): pushes from the views here are signed with it.

Each is read from the environment, or else from the repository's .dev.vars, the file `npm start`
writes, so the example runs next to `npm start` with no copying.
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
REPO_DIR = BASE_DIR.parent.parent


def _dev_vars() -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        with open(REPO_DIR / ".dev.vars", encoding="utf-8") as f:
            for line in f:
                name, sep, value = line.strip().partition("=")
                if sep and not name.startswith("#"):
                    values[name.strip()] = value.strip().strip('"')
    except FileNotFoundError:
        pass
    return values


_DEV_VARS = _dev_vars()


def secret(name: str) -> str:
    return os.environ.get(name) or _DEV_VARS.get(name, "")


def env_list(name: str, default: str) -> list[str]:
    return [s.strip() for s in os.environ.get(name, default).split(",") if s.strip()]


# ---- the rooms server ----

# Where the browser and the push view reach the rooms server. Open this site under the same host
# name (both on localhost, or both on 127.0.0.1): a browser sends a cookie to every port of the
# host that set it, so the session cookie reaches the rooms server's connect hook.
ROOMS_URL = os.environ.get("ROOMS_URL", "http://localhost:8787").rstrip("/")
HOOK_SECRET = secret("HOOK_SECRET")
JOIN_SECRET = secret("JOIN_SECRET")
PUSH_SECRET = secret("PUSH_SECRET")
# The publish hook refuses a message containing one of these (case-insensitive).
BANNED_WORDS = env_list("BANNED_WORDS", "spam,scam")
# For tests and for watching a retry: the first delivery of events out that carries a message
# of a room matching one of these patterns (* matches any run of characters) is stored and then
# answered 500, as if the answer were lost. The rooms server sends it again; it is not stored
# twice. Empty (the default): never.
HOOKS_FAIL_ONCE_ROOMS = env_list("HOOKS_FAIL_ONCE_ROOMS", "")

# ---- Django ----

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-not-secret-change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")

# Deployed, with rooms on rooms.example.com and this site on example.com, set
# SESSION_COOKIE_DOMAIN=.example.com so the browser sends the session cookie to the rooms
# server's upgrade too (README.md, "Deployed").
SESSION_COOKIE_DOMAIN = os.environ.get("SESSION_COOKIE_DOMAIN") or None
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatsite.urls"
WSGI_APPLICATION = "chatsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DB", str(BASE_DIR / "db.sqlite3")),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
