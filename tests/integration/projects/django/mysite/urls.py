from django.http import JsonResponse
from django.urls import path


def index(request):
    return JsonResponse({"framework": "django", "message": "hello from mysite"})


urlpatterns = [path("", index)]
