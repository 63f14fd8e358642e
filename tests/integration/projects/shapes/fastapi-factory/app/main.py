"""The application is built by a factory, so that tests get a fresh one each."""
from fastapi import FastAPI

from app.api.routes import router


def get_application() -> FastAPI:
    application = FastAPI(
        title="inventory",
        version="0.3.0",
    )
    application.include_router(router)
    return application
