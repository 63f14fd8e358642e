import os

PROJECT_NAME = os.environ.get("PROJECT_NAME", "shop")
