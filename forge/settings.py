"""Django settings for Forge, driven by FORGE_* environment variables (see CONTRACT.md and README.md)."""
import os
from pathlib import Path

from forge import env

BASE_DIR = Path(__file__).resolve().parent.parent

FORGE_DATA_DIR = env.data_dir(os.environ.get("FORGE_DATA_DIR"), default=BASE_DIR / "data")
# One SQLite file per repository, spread over 256 subdirectories (see repos.selectors.store_path).
FORGE_REPO_DIR = FORGE_DATA_DIR / "repos"

SECRET_KEY = env.secret_key(os.environ.get("FORGE_SECRET_KEY"), FORGE_DATA_DIR)
DEBUG = env.flag(os.environ.get("FORGE_DEBUG"))
ALLOWED_HOSTS = env.comma_list(os.environ.get("FORGE_ALLOWED_HOSTS")) or ["*"]

FORGE_TRUSTED_PROXIES = env.networks(os.environ.get("FORGE_TRUSTED_PROXIES"))
# "open": anyone may sign up; "closed": only the first account (then the admin runs `adduser`).
FORGE_SIGNUP = env.choice("FORGE_SIGNUP", os.environ.get("FORGE_SIGNUP"), ("open", "closed"), "open")
FORGE_MAX_PUSH_BYTES = env.integer("FORGE_MAX_PUSH_BYTES", os.environ.get("FORGE_MAX_PUSH_BYTES"), 2 * env.GIB)

# GitHub OAuth (social-auth-app-django); see the "GitHub sign-in" block below and accounts/github.py.
FORGE_GITHUB_KEY = os.environ.get("FORGE_GITHUB_KEY", "")
FORGE_GITHUB_SECRET = os.environ.get("FORGE_GITHUB_SECRET", "")
FORGE_GITHUB_URL = os.environ.get("FORGE_GITHUB_URL", "https://github.com").rstrip("/")
FORGE_GITHUB_API_URL = os.environ.get("FORGE_GITHUB_API_URL", "https://api.github.com").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "social_django",
    "ninja",
    "accounts",
    "repos",
    "issues",
]

MIDDLEWARE = [
    # First, so its request id and timing cover everything below, whitenoise's static files included.
    "forge.observability.middleware.RequestMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "forge.security_headers.SecurityHeadersMiddleware",  # CSP; X-Forwarded-Proto only from trusted proxies
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.ActorMiddleware",
    # After the actor (its 404 page shows who is signed in), before any view looks a name up.
    "forge.nul_bytes.RefuseNulMiddleware",  # a NUL names nothing, and PostgreSQL refuses it in text
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "forge.urls"
WSGI_APPLICATION = "forge.wsgi.application"

TEMPLATES = [
    {
        # Pages: Jinja2 (see forge/jinja.py for why), from templates/.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {
            "environment": "forge.jinja.environment",
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
    {
        # Templates that Django's own apps bring.
        "BACKEND": "django.template.backends.django.DjangoTemplates",
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
    "default": env.database(os.environ.get("FORGE_DATABASE_URL"), FORGE_DATA_DIR / "forge.sqlite3"),
}
# Keep each thread's database connection between requests: opening one (and its PRAGMAs) cost
# about as much as rendering a small page.
DATABASES["default"].setdefault("CONN_MAX_AGE", 300)
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]

# --- GitHub sign-in --------------------------------------------------------------------------------------------
# Active only when FORGE_GITHUB_KEY and FORGE_GITHUB_SECRET are set.
if FORGE_GITHUB_KEY and FORGE_GITHUB_SECRET:
    # accounts.github.GithubBackend: social_core's GitHub backend at FORGE_GITHUB_URL / FORGE_GITHUB_API_URL.
    AUTHENTICATION_BACKENDS.append("accounts.github.GithubBackend")
    # Failed flows (denied, state mismatch, already linked...) become a message on /login or /settings.
    MIDDLEWARE.append("accounts.github.GithubErrorMiddleware")
    SOCIAL_AUTH_GITHUB_KEY = FORGE_GITHUB_KEY
    SOCIAL_AUTH_GITHUB_SECRET = FORGE_GITHUB_SECRET
    SOCIAL_AUTH_GITHUB_SCOPE = ["read:user", "user:email"]
    SOCIAL_AUTH_URL_NAMESPACE = "social"
    # Accounts are found by GitHub id only, never by e-mail address (see accounts/github.py).
    SOCIAL_AUTH_PIPELINE = [
        "social_core.pipeline.social_auth.social_details",
        "social_core.pipeline.social_auth.social_uid",
        "social_core.pipeline.social_auth.auth_allowed",
        "accounts.github.linked_user",
        "accounts.github.one_github_account",
        "accounts.github.create_account",
        "social_core.pipeline.social_auth.associate_user",
        "social_core.pipeline.social_auth.load_extra_data",
        "accounts.github.announce",
    ]
    SOCIAL_AUTH_DISCONNECT_PIPELINE = [
        "social_core.pipeline.disconnect.allowed_to_disconnect",
        "social_core.pipeline.disconnect.get_entries",
        "social_core.pipeline.disconnect.disconnect",
        "accounts.github.announce_unlinked",
    ]
    SOCIAL_AUTH_LOGIN_REDIRECT_URL = LOGIN_REDIRECT_URL
    SOCIAL_AUTH_LOGIN_ERROR_URL = LOGIN_URL
    SOCIAL_AUTH_NEW_ASSOCIATION_REDIRECT_URL = "/settings"
    SOCIAL_AUTH_DISCONNECT_REDIRECT_URL = "/settings"
    SOCIAL_AUTH_RAISE_EXCEPTIONS = False  # even with FORGE_DEBUG: the person gets a message, not a traceback
    # Behind a proxy that terminates TLS, the callback URL sent to GitHub must say https.
    SOCIAL_AUTH_REDIRECT_IS_HTTPS = env.flag(os.environ.get("FORGE_GITHUB_REDIRECT_IS_HTTPS"))
# --- end of GitHub sign-in -------------------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # The manifest storage needs `collectstatic` (make setup runs it); development and tests
        # read the files straight from static/.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}
# A page must still render if collectstatic has not run (the stylesheet is then merely missing).
WHITENOISE_MANIFEST_STRICT = False
MEDIA_ROOT = FORGE_DATA_DIR / "uploads"

# One JSON object per line on stderr (forge.observability.logs): a 500's traceback (there are no ADMINS
# to mail), Forge's own warnings, and one line per request from forge.request (its access log). Every
# record carries the id of the request it was emitted in.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "forge.observability.logs.RequestIdFilter"}},
    "formatters": {"json": {"()": "forge.observability.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        # Every git client is first answered 401; forge.request already logs every answer.
        "django.request": {"level": "ERROR"},
        "forge.request": {"level": "INFO"},
    },
}

# --- security headers ------------------------------------------------------------------------------------------
# forge/security_headers.py adds the Content-Security-Policy and lets only FORGE_TRUSTED_PROXIES say
# "https" (X-Forwarded-Proto); SecurityMiddleware then sends HSTS on https answers only.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 365 * 24 * 3600
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# --- end of security headers -----------------------------------------------------------------------------------
