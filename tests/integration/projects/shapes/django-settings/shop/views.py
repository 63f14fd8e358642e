from django.conf import settings
from django.http import JsonResponse


def index(request):
    return JsonResponse({"framework": "django", "settings": settings.SETTINGS_NAME})
