from .base import *  # noqa: F401,F403

DEBUG = False
SETTINGS_NAME = "production"
SECURE_CONTENT_TYPE_NOSNIFF = True
